package resultmaterialize

// MaxResults is the most results one run materializes, and MaxNameLength
// the longest result name: the CRD's validation rules compare names
// pairwise, and the API server bounds what such a rule may cost.
const (
	MaxResults    = 64
	MaxNameLength = 63
	// MaxPathLength bounds a result's path and the spec's directory.
	MaxPathLength = 4096
	// MaxDefaultLength bounds an optional result's default.
	MaxDefaultLength = 8192
	// MaxQueryLength bounds a jsonPath or an expression, in bytes.
	MaxQueryLength = 2048
)

// MaxThreshold is the largest inline threshold accepted: 1 MiB. A CustomRun
// is stored in etcd, whose objects are capped at 1.5 MiB, so a single value
// above this could never be saved.
const MaxThreshold int64 = 1 << 20

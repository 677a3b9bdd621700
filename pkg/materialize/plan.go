// Package materialize decides, for every requested result, what a
// ResultMaterialize run surfaces: the value inline, a reference to the file
// left in the workspace, a truncated prefix, or a failure. It knows nothing
// of Kubernetes: it works on a Plan and on what a workspace source reported.
package materialize

// Policy says what happens to a result larger than its threshold.
type Policy string

const (
	// PolicyReference leaves the value in the workspace; the result holds
	// its path relative to the workspace root.
	PolicyReference Policy = "reference"
	// PolicyFail fails the run, naming the result, its size and the limit.
	PolicyFail Policy = "fail"
	// PolicyTruncate surfaces the first threshold bytes, cut on a UTF-8
	// boundary for text.
	PolicyTruncate Policy = "truncate"
)

// Policies lists the accepted policies, in the order error messages give them.
var Policies = []Policy{PolicyReference, PolicyFail, PolicyTruncate}

// Encoding says how file bytes become a result string.
type Encoding string

const (
	// EncodingText surfaces the bytes as they are; they must be UTF-8.
	EncodingText Encoding = "text"
	// EncodingBase64 surfaces the bytes in standard base64, for binary data.
	EncodingBase64 Encoding = "base64"
)

// Encodings lists the accepted encodings.
var Encodings = []Encoding{EncodingText, EncodingBase64}

// Result is one fully resolved result request.
type Result struct {
	// Name is the CustomRun result name.
	Name string
	// Path is the file's path relative to the workspace root.
	Path string
	// Threshold is the largest size, in bytes, surfaced inline.
	Threshold int64
	// OnOversize applies when the file is larger than Threshold.
	OnOversize Policy
	// Optional makes a missing file surface Default instead of failing.
	Optional bool
	// Default is the value of a missing optional result.
	Default string
	// Encoding turns bytes into the result string.
	Encoding Encoding
	// TrimNewline drops one trailing "\n" or "\r\n" from an inline text value.
	TrimNewline bool
}

// Plan is everything a run materializes.
type Plan struct {
	// Results in the order the user listed them.
	Results []Result
	// MaxInlineTotal caps the bytes of all inline values of the run.
	MaxInlineTotal int64
}

// Requests lists what a workspace source must read for the plan: each path
// with the number of leading bytes to keep.
func (p Plan) Requests() []FileRequest {
	reqs := make([]FileRequest, len(p.Results))
	for i, r := range p.Results {
		reqs[i] = FileRequest{Path: r.Path, Limit: r.Threshold, KeepOversizeHead: r.OnOversize == PolicyTruncate}
	}
	return reqs
}

// MaxReportBytes bounds the JSON a reader prints for reqs: each file's head
// in base64, its digest, its path twice (request echo and error message)
// and a fixed allowance for field names and messages.
func MaxReportBytes(reqs []FileRequest) int64 {
	const perFile = 1024
	total := int64(64)
	for _, r := range reqs {
		total += perFile + 2*int64(len(r.Path))*6 + (r.Limit+2)/3*4
	}
	return total
}

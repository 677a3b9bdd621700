package resultmaterialize

import "strconv"

// Companion is a result every requested result N also yields, as
// N+Suffix. It holds a function, so it has no deepcopy.
//
// +k8s:deepcopy-gen=false
type Companion struct {
	Suffix string
	Value  func(Row) string
}

// Companion suffixes.
const (
	SuffixSize   = "-size"
	SuffixSHA256 = "-sha256"
	SuffixInline = "-inline"
	SuffixPath   = "-path"
)

// Companions lists every companion in the order results are emitted. Name
// collisions, the docs and the engine all read this one list.
var Companions = []Companion{
	{SuffixSize, func(r Row) string { return strconv.FormatInt(r.Size, 10) }},
	{SuffixSHA256, func(r Row) string { return r.SHA256 }},
	{SuffixInline, func(r Row) string { return strconv.FormatBool(r.Inline) }},
	{SuffixPath, func(r Row) string { return r.Path }},
}

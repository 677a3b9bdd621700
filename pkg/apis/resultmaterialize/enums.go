package resultmaterialize

// Policy says what happens to a result larger than its threshold.
type Policy string

const (
	// PolicyReference leaves the value in the workspace; the result holds
	// its path relative to the workspace root.
	PolicyReference Policy = "reference"
	// PolicyFail fails the run, naming the result, its size and the limit.
	PolicyFail Policy = "fail"
	// PolicyTruncate surfaces the longest prefix within the threshold, cut
	// on a UTF-8 boundary for text.
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

// Type is what a consumer of the result receives.
type Type string

const (
	// TypeString surfaces the value as a string param.
	TypeString Type = "string"
	// TypeArray surfaces a list, so consumers get an array param.
	TypeArray Type = "array"
)

// Types lists the accepted result types.
var Types = []Type{TypeString, TypeArray}

// Format is the value of a result's format field, which holds one of two
// separate settings under one name, kept for compatibility with the specs
// already written: for an array result read whole, the file's layout
// (LayoutJSON or LayoutLines); for a projection, the document's syntax
// (SyntaxJSON or SyntaxYAML). "json" is spelled the same in both sets but
// means a different thing in each: a JSON array of strings, or any JSON
// document to project. Code names the setting it means, never a bare
// "json".
type Format string

// Array layouts: how an array result's file, read whole, lists its items.
const (
	// LayoutJSON is a JSON array of strings.
	LayoutJSON Format = "json"
	// LayoutLines is one item per line.
	LayoutLines Format = "lines"
)

// Document syntaxes: what a projection (jsonPath or expression) parses.
const (
	// SyntaxJSON is one JSON document.
	SyntaxJSON Format = "json"
	// SyntaxYAML is one YAML document.
	SyntaxYAML Format = "yaml"
)

// ArrayLayouts lists the layouts of an array file read whole.
var ArrayLayouts = []Format{LayoutJSON, LayoutLines}

// DocumentSyntaxes lists the syntaxes a projection parses.
var DocumentSyntaxes = []Format{SyntaxJSON, SyntaxYAML}

// Formats lists every value the format field accepts: the array layouts
// and the document syntaxes, each spelling once.
var Formats = []Format{LayoutJSON, LayoutLines, SyntaxYAML}

// Retain says where a result that ends by reference is kept.
type Retain string

const (
	// RetainWorkspace leaves the file in the workspace only: the reference
	// lasts as long as the workspace's volume.
	RetainWorkspace Retain = "workspace"
	// RetainOCI also exports the file as a one-layer OCI artifact to the
	// cluster's registry, and publishes its URI.
	RetainOCI Retain = "oci"
)

// Retains lists the accepted retain values.
var Retains = []Retain{RetainWorkspace, RetainOCI}

// GC says what happens to a run's exported artifacts when the run goes.
type GC string

const (
	// GCNever keeps exported artifacts after their run is deleted.
	GCNever GC = "never"
	// GCOnRunDeletion deletes them from the registry when their run is.
	GCOnRunDeletion GC = "onRunDeletion"
)

// GCs lists the accepted gc values.
var GCs = []GC{GCNever, GCOnRunDeletion}

// Package materialize decides, for every requested result, what a
// ResultMaterialize run surfaces: the value inline, a reference to the file
// left in the workspace, a truncated prefix, or a failure. It knows nothing
// of Kubernetes: it works on a Plan and on what a workspace source reported.
package materialize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/resultmaterialize/controller/pkg/protocol"
)

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

// Format says how a file is written: how an array result's file lists
// its items, or what a projection parses.
type Format string

const (
	// FormatJSON is a JSON array of strings, or a JSON document to project.
	FormatJSON Format = "json"
	// FormatLines is one item per line (arrays without a projection).
	FormatLines Format = "lines"
	// FormatYAML is one YAML document to project.
	FormatYAML Format = "yaml"
)

// Formats lists the accepted formats.
var Formats = []Format{FormatJSON, FormatLines, FormatYAML}

// Result is one fully resolved result request.
type Result struct {
	// Name is the CustomRun result name.
	Name string `json:"name"`
	// Path is the file's path relative to the workspace root.
	Path string `json:"path"`
	// Threshold is the largest stored (JSON-encoded) size, in bytes, of a
	// value surfaced inline.
	Threshold int64 `json:"threshold"`
	// OnOversize applies when the value is larger than Threshold.
	OnOversize Policy `json:"onOversize"`
	// Optional makes a missing file surface Default instead of failing.
	Optional bool `json:"optional,omitempty"`
	// Default is the value of a missing optional result.
	Default string `json:"default,omitempty"`
	// Encoding turns bytes into the result string.
	Encoding Encoding `json:"encoding"`
	// TrimNewline drops one trailing "\n" or "\r\n" from an inline text value.
	TrimNewline bool `json:"trimNewline,omitempty"`
	// Type is string or array.
	Type Type `json:"type"`
	// Format is how an array's file lists its items, or what a projection
	// parses.
	Format Format `json:"format,omitempty"`
	// JSONPath projects one field of the file with kubectl's JSONPath.
	JSONPath string `json:"jsonPath,omitempty"`
	// Expression projects the file with CEL, the document bound as doc.
	Expression string `json:"expression,omitempty"`
}

// Projected reports whether the result is a projection of its file.
func (r Result) Projected() bool { return r.JSONPath != "" || r.Expression != "" }

// query names the projection in messages.
func (r Result) query() string {
	if r.JSONPath != "" {
		return fmt.Sprintf("jsonPath %q", r.JSONPath)
	}
	return fmt.Sprintf("expression %q", r.Expression)
}

// Plan is everything one attempt materializes, fixed when it starts.
type Plan struct {
	// Results in the order the user listed them.
	Results []Result `json:"results"`
	// MaxInlineTotal caps the stored bytes of all inline values of the run.
	MaxInlineTotal int64 `json:"maxInlineTotal"`
	// MaxProjectionBytes bounds a document a projection parses whole, and
	// any one value a streamed path selects.
	MaxProjectionBytes int64 `json:"maxProjectionBytes,omitempty"`
}

// Projects reports whether any result is a projection.
func (p Plan) Projects() bool {
	for _, r := range p.Results {
		if r.Projected() {
			return true
		}
	}
	return false
}

// Requests lists what a workspace source must read for the plan: each path
// with the number of leading bytes to keep. A stored value is never
// shorter than the bytes it came from, so Threshold raw bytes suffice.
func (p Plan) Requests() []protocol.FileRequest {
	reqs := make([]protocol.FileRequest, len(p.Results))
	for i, r := range p.Results {
		reqs[i] = protocol.FileRequest{Path: r.Path, Limit: r.Threshold, KeepOversizeHead: r.OnOversize == PolicyTruncate && r.Type != TypeArray}
		if r.Projected() {
			reqs[i].Projection = &protocol.Projection{JSONPath: r.JSONPath, Expression: r.Expression,
				Format: string(r.Format), Array: r.Type == TypeArray, MaxBytes: p.MaxProjectionBytes}
		}
	}
	return reqs
}

// ReaderRequest is the reader pod's -request argument: the plan without
// default values, which the reader never needs and which can be large.
// HTML is not escaped, so "&&" in an expression takes 2 bytes, not 12.
func (p Plan) ReaderRequest() (string, error) {
	p.Results = append([]Result(nil), p.Results...)
	for i := range p.Results {
		p.Results[i].Default = ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return "", fmt.Errorf("encoding the reader request: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// DecodeReaderRequest parses the reader's -request argument strictly.
func DecodeReaderRequest(s string) (Plan, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("parsing the reader request: %w", err)
	}
	return p, nil
}

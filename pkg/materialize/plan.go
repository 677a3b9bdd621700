// Package materialize decides, for every requested result, what a
// ResultMaterialize run surfaces: the value inline, a reference to the file
// left in the workspace, a truncated prefix, or a failure. It knows nothing
// of Kubernetes: it works on a Plan and on what a workspace source reported.
package materialize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"

	"github.com/resultmaterialize/controller/pkg/protocol"
)

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
	OnOversize resultmaterialize.Policy `json:"onOversize"`
	// Optional makes a missing file surface Default instead of failing.
	Optional bool `json:"optional,omitempty"`
	// Default is the value of a missing optional result.
	Default string `json:"default,omitempty"`
	// Encoding turns bytes into the result string.
	Encoding resultmaterialize.Encoding `json:"encoding"`
	// TrimNewline drops one trailing "\n" or "\r\n" from an inline text value.
	TrimNewline bool `json:"trimNewline,omitempty"`
	// Type is string or array.
	Type resultmaterialize.Type `json:"type"`
	// Format is how an array's file lists its items, or what a projection
	// parses.
	Format resultmaterialize.Format `json:"format,omitempty"`
	// JSONPath projects one field of the file with kubectl's JSONPath.
	JSONPath string `json:"jsonPath,omitempty"`
	// Expression projects the file with CEL, the document bound as doc.
	Expression string `json:"expression,omitempty"`
	// Retain is workspace or oci: oci exports the file when it ends by
	// reference and yields the -uri companion.
	Retain resultmaterialize.Retain `json:"retain,omitempty"`
	// Provenance yields Chains' type hints beside -uri.
	Provenance bool `json:"provenance,omitempty"`
	// DefaultCost is the stored size of Default in a reader request, which
	// leaves Default out: the reader weighs a default it does not carry.
	DefaultCost int64 `json:"defaultCost,omitempty"`
}

// Exports reports whether the result is exported when it ends by
// reference: a projection never does.
func (r Result) Exports() bool { return r.Retain == resultmaterialize.RetainOCI && !r.Projected() }

// defaultCost is the stored size of the result's default.
func (r Result) defaultCost() int64 {
	if r.DefaultCost > 0 {
		return r.DefaultCost
	}
	return JSONLen(r.Default)
}

// Projected reports whether the result is a projection of its file.
func (r Result) Projected() bool { return r.JSONPath != "" || r.Expression != "" }

// Oversize is what the result may become: resultmaterialize.Oversize of its
// policy, type and projection.
func (r Result) Oversize() resultmaterialize.Outcomes {
	return resultmaterialize.Oversize(r.OnOversize, r.Type, r.Projected())
}

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
	// Export is where results under retain: oci are pushed; nil when no
	// result is.
	Export *protocol.ExportTarget `json:"export,omitempty"`
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
		reqs[i] = protocol.FileRequest{Path: r.Path, Limit: r.Threshold, KeepOversizeHead: r.Oversize().Oversize == resultmaterialize.BecomesTruncated,
			Export: p.Export != nil && r.Exports()}
		if r.Projected() {
			reqs[i].Projection = &protocol.Projection{JSONPath: r.JSONPath, Expression: r.Expression,
				Format: r.Format, Array: r.Type == resultmaterialize.TypeArray, MaxBytes: p.MaxProjectionBytes}
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
		// Only an exporting reader weighs defaults: a reader image older
		// than the field still reads every other plan.
		if p.Export != nil && p.Results[i].Default != "" {
			p.Results[i].DefaultCost = JSONLen(p.Results[i].Default)
		}
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

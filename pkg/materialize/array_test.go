package materialize

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

func arrayResult(name string, format resultmaterialize.Format) Result {
	r := result(name, 4096, resultmaterialize.PolicyReference)
	r.Type, r.Format = resultmaterialize.TypeArray, format
	return r
}

func TestArrayResults(t *testing.T) {
	plan := Plan{MaxInlineTotal: 1 << 20, Results: []Result{arrayResult("j", resultmaterialize.LayoutJSON), arrayResult("l", resultmaterialize.LayoutLines)}}
	got, err := Materialize(plan, at(plan, []protocol.FileReport{
		found(" [ \"a\", \"b c\" ]\n", 4096),
		found("x\r\ny\n\nz\n", 4096),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{`["a","b c"]`, `["x","y","","z"]`}, []string{got.Values[0].Value, got.Values[5].Value}); d != "" {
		t.Errorf("array values (-want +got):\n%s", d)
	}
	for i, v := range []string{got.Values[0].Value, got.Values[5].Value} {
		if !resultmaterialize.ReadAsArray(v) {
			t.Errorf("value %d %q is not what Tekton reads as an array", i, v)
		}
	}
}

func TestArrayFailures(t *testing.T) {
	tests := []struct {
		name    string
		result  Result
		content string
		reason  reasons.Reason
		message string
	}{{
		name: "not a list", result: arrayResult("a", resultmaterialize.LayoutJSON), content: `{"a":1}`, reason: reasons.ResultInvalidArray,
		message: `result "a": file "out/a": is not a JSON array of strings (json: cannot unmarshal object into Go value of type []string); write one, or set format: lines for one item per line`,
	}, {
		name: "numbers", result: arrayResult("a", resultmaterialize.LayoutJSON), content: `[1,2]`, reason: reasons.ResultInvalidArray,
	}, {
		name: "empty list", result: arrayResult("a", resultmaterialize.LayoutJSON), content: `[]`, reason: reasons.ResultInvalidArray,
		message: `result "a": file "out/a": holds no items: Tekton passes an empty list as the string "[]", so an array result needs at least one item`,
	}, {
		name: "empty lines", result: arrayResult("a", resultmaterialize.LayoutLines), content: "\n", reason: reasons.ResultInvalidArray,
	}, {
		name: "two documents", result: arrayResult("a", resultmaterialize.LayoutJSON), content: `["a"] ["b"]`, reason: reasons.ResultInvalidArray,
	}, {
		name: "oversize", result: arrayResult("a", resultmaterialize.LayoutJSON), content: `["` + strings.Repeat("x", 5000) + `"]`, reason: reasons.ResultOversize,
		message: `result "a": file "out/a" is 5004 bytes, above its threshold of 4096 bytes; an array result is surfaced whole or not at all: raise its threshold`,
	}, {
		name: "string read as an array", result: result("a", 4096, resultmaterialize.PolicyReference), content: `["a","b"]`, reason: reasons.ResultReadAsArray,
		message: `result "a": its value is a JSON array of strings, which Tekton passes to consumers as an array param; set type: array to surface it as one, or encoding: base64 to keep it a string`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := Plan{MaxInlineTotal: 1 << 20, Results: []Result{tc.result}}
			_, err := Materialize(plan, at(plan, []protocol.FileReport{found(tc.content, 4096)}))
			o := outcome.As(err)
			if o == nil || o.Reason != tc.reason || o.Kind != outcome.Terminal || (tc.message != "" && o.Message != tc.message) {
				t.Errorf("Materialize = %v, want %s %q", err, tc.reason, tc.message)
			}
		})
	}
}

// An array cannot be demoted to a reference: the budget fails instead.
func TestBudgetNeverDemotesAnArray(t *testing.T) {
	plan := Plan{MaxInlineTotal: 5, Results: []Result{arrayResult("a", resultmaterialize.LayoutJSON)}}
	_, err := Materialize(plan, at(plan, []protocol.FileReport{found(`["abcdef"]`, 4096)}))
	if reasonOf(err) != reasons.InlineBudgetExceeded {
		t.Errorf("Materialize = %v, want %s", err, reasons.InlineBudgetExceeded)
	}
}

package materialize

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

func found(content string, limit int64) protocol.FileReport {
	sum := sha256.Sum256([]byte(content))
	head := []byte(content)
	if int64(len(head)) > limit {
		head = head[:limit]
	}
	return protocol.FileReport{Found: true, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Head: head}
}

// at makes each report answer its result's request as a source would:
// the path echoed, and only the head the request keeps.
func at(plan Plan, reports []protocol.FileReport) []protocol.FileReport {
	reqs := plan.Requests()
	for i := range reports {
		if i < len(reqs) {
			reports[i].Path = reqs[i].Path
			if reports[i].Found && reports[i].Error == nil {
				reports[i].Head = reports[i].Head[:reqs[i].WantHead(reports[i].Size)]
			}
		}
	}
	return reports
}

// reasonOf is the reason of err's Outcome, or "" when it has none.
func reasonOf(err error) reasons.Reason {
	if o := outcome.As(err); o != nil {
		return o.Reason
	}
	return ""
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func result(name string, threshold int64, policy resultmaterialize.Policy) Result {
	return Result{Name: name, Path: "out/" + name, Threshold: threshold, OnOversize: policy, Encoding: resultmaterialize.EncodingText}
}

func TestMaterializeDispositions(t *testing.T) {
	big := strings.Repeat("x", 20)
	plan := Plan{MaxInlineTotal: 1 << 20, Results: []Result{
		result("small", 10, resultmaterialize.PolicyReference),
		result("large", 10, resultmaterialize.PolicyReference),
		result("cut", 10, resultmaterialize.PolicyTruncate),
	}}
	opt := result("opt", 10, resultmaterialize.PolicyReference)
	opt.Optional, opt.Default = true, "none"
	plan.Results = append(plan.Results, opt)
	reports := []protocol.FileReport{found("yes", 10), found(big, 10), found(big, 10), {}}

	got, fail := Materialize(plan, at(plan, reports))
	if fail != nil {
		t.Fatalf("Materialize failed: %v", fail)
	}
	wantValues := []Value{
		{"small", "yes"}, {"small-size", "3"}, {"small-sha256", digest("yes")}, {"small-inline", "true"}, {"small-path", "out/small"},
		{"large", "out/large"}, {"large-size", "20"}, {"large-sha256", digest(big)}, {"large-inline", "false"}, {"large-path", "out/large"},
		{"cut", big[:10]}, {"cut-size", "20"}, {"cut-sha256", digest(big)}, {"cut-inline", "false"}, {"cut-path", "out/cut"},
		{"opt", "none"}, {"opt-size", "0"}, {"opt-sha256", ""}, {"opt-inline", "true"}, {"opt-path", "out/opt"},
	}
	if d := cmp.Diff(wantValues, got.Values); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	wantRows := []resultmaterialize.Row{
		{Name: "small", Path: "out/small", Size: 3, SHA256: digest("yes"), Inline: true, Reason: resultmaterialize.Inline},
		{Name: "large", Path: "out/large", Size: 20, SHA256: digest(big), Reason: resultmaterialize.Reference},
		{Name: "cut", Path: "out/cut", Size: 20, SHA256: digest(big), Reason: resultmaterialize.Truncated},
		{Name: "opt", Path: "out/opt", Inline: true, Reason: resultmaterialize.Defaulted},
	}
	if d := cmp.Diff(wantRows, got.Rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

func TestMaterializeEncodings(t *testing.T) {
	b64 := result("bin", 10, resultmaterialize.PolicyReference)
	b64.Encoding = resultmaterialize.EncodingBase64
	trim := result("flag", 10, resultmaterialize.PolicyReference)
	trim.TrimNewline = true
	crlf := result("crlf", 10, resultmaterialize.PolicyReference)
	crlf.TrimNewline = true
	exact := result("exact", 10, resultmaterialize.PolicyReference)
	plan := Plan{MaxInlineTotal: 100, Results: []Result{b64, trim, crlf, exact}}
	got, fail := Materialize(plan, at(plan, []protocol.FileReport{found("\xff\x00", 10), found("true\n\n", 10), found("ok\r\n", 10), found("ok\n", 10)}))
	if fail != nil {
		t.Fatalf("Materialize failed: %v", fail)
	}
	want := map[string]string{"bin": "/wA=", "flag": "true\n", "crlf": "ok", "exact": "ok\n"}
	for _, v := range got.Values {
		if w, ok := want[v.Name]; ok && v.Value != w {
			t.Errorf("%s = %q, want %q", v.Name, v.Value, w)
		}
	}
}

func TestMaterializeFailures(t *testing.T) {
	tests := []struct {
		name    string
		result  Result
		report  protocol.FileReport
		reason  reasons.Reason
		message string
	}{{
		name:    "missing",
		result:  result("a", 10, resultmaterialize.PolicyReference),
		report:  protocol.FileReport{},
		reason:  reasons.ResultMissing,
		message: `result "a": file "out/a" does not exist in the workspace; mark the result optional to surface a default instead`,
	}, {
		name:    "oversize fail",
		result:  result("a", 4, resultmaterialize.PolicyFail),
		report:  found("12345", 4),
		reason:  reasons.ResultOversize,
		message: `result "a": file "out/a" is 5 bytes, above its threshold of 4 bytes (onOversize: fail)`,
	}, {
		name:    "invalid utf-8",
		result:  result("a", 10, resultmaterialize.PolicyReference),
		report:  found("ok\xffno", 10),
		reason:  reasons.ResultInvalidUTF8,
		message: `result "a": file "out/a" is not valid UTF-8 at byte offset 2; set encoding: base64 to surface binary content`,
	}, {
		name:    "invalid utf-8 in truncated head",
		result:  result("a", 3, resultmaterialize.PolicyTruncate),
		report:  found("\xffabcdef", 3),
		reason:  reasons.ResultInvalidUTF8,
		message: `result "a": file "out/a" is not valid UTF-8 at byte offset 0; set encoding: base64 to surface binary content`,
	}, {
		name:    "source error",
		result:  result("a", 10, resultmaterialize.PolicyReference),
		report:  protocol.FileReport{Found: true, Error: &protocol.FileError{Reason: reasons.ResultUnreadable, Message: `"out/a" is a directory, not a regular file`}},
		reason:  reasons.ResultUnreadable,
		message: `result "a": "out/a" is a directory, not a regular file`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := Plan{MaxInlineTotal: 100, Results: []Result{tc.result}}
			_, fail := Materialize(plan, at(plan, []protocol.FileReport{tc.report}))
			if fail == nil {
				t.Fatal("Materialize succeeded, want a failure")
			}
			if o := outcome.As(fail); o == nil || o.Reason != tc.reason || o.Message != tc.message {
				t.Errorf("failure = %v, want %s %q", fail, tc.reason, tc.message)
			}
		})
	}
}

func TestMaterializeMismatchedReports(t *testing.T) {
	_, fail := Materialize(Plan{Results: []Result{result("a", 1, resultmaterialize.PolicyReference)}}, nil)
	if reasonOf(fail) != reasons.ReaderOutputInvalid {
		t.Fatalf("failure = %v, want %s", fail, reasons.ReaderOutputInvalid)
	}
}

// TestProjectedArrayIsSurfacedAsHashed checks a projected array is
// surfaced as the projection wrote it, so its -size and -sha256 (computed
// where the projection ran) describe the value a consumer receives.
func TestProjectedArrayIsSurfacedAsHashed(t *testing.T) {
	res := result("tags", 100, resultmaterialize.PolicyReference)
	res.Type, res.JSONPath = resultmaterialize.TypeArray, "{.tags}"
	plan := Plan{MaxInlineTotal: 1 << 10, Results: []Result{res}}
	value := `["a<b","c&d"]`
	got, err := Materialize(plan, at(plan, []protocol.FileReport{found(value, 100)}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{{"tags", value}, {"tags-size", "13"}, {"tags-sha256", digest(value)}}
	if d := cmp.Diff(want, got.Values[:3]); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
}

// TestPrettyArrayCostsItsValue checks an array file's whitespace does not
// count against the inline budget: the budget counts stored JSON.
func TestPrettyArrayCostsItsValue(t *testing.T) {
	res := result("list", 1<<20, resultmaterialize.PolicyReference)
	res.Type, res.Format = resultmaterialize.TypeArray, resultmaterialize.LayoutJSON
	plan := Plan{MaxInlineTotal: 200, Results: []Result{res}}
	file := "[" + strings.Repeat(" ", 90_000) + `"` + strings.Repeat("a", 100) + `"]`
	got, err := Materialize(plan, at(plan, []protocol.FileReport{found(file, 1<<20)}))
	if err != nil || !got.Rows[0].Inline {
		t.Fatalf("Materialize = %+v, %v; want the 106-byte value inline within a 200-byte budget", got.Rows, err)
	}
}

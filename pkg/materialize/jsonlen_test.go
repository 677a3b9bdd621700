package materialize

import (
	"encoding/json"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

func FuzzJSONLen(f *testing.F) {
	for _, s := range []string{"", "plain", "<>&", "\"\\\n\r\t\b\f", "\x00\x1f\x7f", "\u2028\u2029", "é漢🙂", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := JSONLen(s), int64(len(raw)-2); got != want {
			t.Fatalf("JSONLen(%q) = %d, json.Marshal gives %d", s, got, want)
		}
	})
}

// A value counts as the API server stores it: 4000 bytes of '<' are a
// 24000-byte string, above a 4096 threshold.
func TestThresholdCountsStoredBytes(t *testing.T) {
	lt := strings.Repeat("<", 4000)
	plan := Plan{MaxInlineTotal: 1 << 20, Results: []Result{
		result("ref", 4096, resultmaterialize.PolicyReference),
		result("cut", 4096, resultmaterialize.PolicyTruncate),
		result("fail", 4096, resultmaterialize.PolicyFail),
	}}
	got, err := Materialize(plan, at(plan, []protocol.FileReport{found(lt, 4096), found(lt, 4096), found("ok", 4096)}))
	if err != nil {
		t.Fatalf("Materialize: %v", err)
	}
	if got.Rows[0].Reason != resultmaterialize.Reference || got.Values[0].Value != "out/ref" {
		t.Errorf("ref = %s %q, want a reference", got.Rows[0].Reason, got.Values[0].Value)
	}
	cut := got.Values[5].Value
	if got.Rows[1].Reason != resultmaterialize.Truncated || cut != strings.Repeat("<", 682) || JSONLen(cut) > 4096 {
		t.Errorf("cut = %s, %d bytes (%d stored), want 682 '<' within 4096 stored bytes", got.Rows[1].Reason, len(cut), JSONLen(cut))
	}
	plan.Results = plan.Results[2:]
	_, err = Materialize(plan, at(plan, []protocol.FileReport{found(lt, 4096)}))
	if reasonOf(err) != reasons.ResultOversize || !strings.Contains(err.Error(), "24000 bytes as stored JSON (4000 in the file)") {
		t.Errorf("fail = %v, want ResultOversize naming the stored size", err)
	}
}

// The budget counts stored bytes: two 100-byte values of '&' are 1200.
func TestBudgetCountsStoredBytes(t *testing.T) {
	amp := strings.Repeat("&", 100)
	plan := Plan{MaxInlineTotal: 1000, Results: []Result{result("a", 1000, resultmaterialize.PolicyReference), result("b", 1000, resultmaterialize.PolicyReference)}}
	got, err := Materialize(plan, at(plan, []protocol.FileReport{found(amp, 1000), found(amp, 1000)}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows[0].Reason != resultmaterialize.Demoted || got.Rows[1].Reason != resultmaterialize.Inline {
		t.Errorf("dispositions = %s, %s; want Demoted, Inline", got.Rows[0].Reason, got.Rows[1].Reason)
	}
}

// Base64 values count their encoded length: 3000 bytes are 4000
// characters, 4096 bytes are 5464, above a 4096 threshold.
func TestBase64CountsEncodedLength(t *testing.T) {
	r := result("bin", 4096, resultmaterialize.PolicyTruncate)
	r.Encoding = resultmaterialize.EncodingBase64
	plan := Plan{MaxInlineTotal: 1 << 20, Results: []Result{r}}
	got, err := Materialize(plan, at(plan, []protocol.FileReport{found(strings.Repeat("\x01", 4096), 4096)}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows[0].Reason != resultmaterialize.Truncated || len(got.Values[0].Value) != 4096 {
		t.Errorf("bin = %s, %d characters; want Truncated, 4096", got.Rows[0].Reason, len(got.Values[0].Value))
	}
}

// No value is surfaced from a head shorter than the request keeps: a
// 5000-byte file read under a 4Ki plan and judged under 8Ki gave "".
func TestShortHeadIsRefused(t *testing.T) {
	plan := Plan{MaxInlineTotal: 1 << 20, Results: []Result{result("small", 8192, resultmaterialize.PolicyReference)}}
	rep := found(strings.Repeat("x", 5000), 8192)
	rep.Path, rep.Head = "out/small", nil
	_, err := Materialize(plan, []protocol.FileReport{rep})
	if o := reasonOf(err); o != reasons.ReaderOutputInvalid {
		t.Fatalf("Materialize = %v, want %s", err, reasons.ReaderOutputInvalid)
	}
}

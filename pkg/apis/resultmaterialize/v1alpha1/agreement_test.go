package v1alpha1

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// sent is spec as a client sends it to the API server.
func sent(t testing.TB, spec ResultMaterializeSpec) map[string]any {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzCRDAgreesWithGo: for any directory, name, path, threshold and
// default, of an optional string or array result, the shipped CRD refuses
// the spec exactly when the Go validation does. The seeds run in every go
// test.
func FuzzCRDAgreesWithGo(f *testing.F) {
	api := newAPIServer(f)
	e := "é"
	for _, def := range []string{
		"", "x", "[]", " [ ] ", `["a"]`, ` ["a"] `, "\t\r\n[\"a\"]\n", "\f[\"a\"]", "[\"a\"]\f", "\v[\"a\"]", "\u00a0[\"a\"]",
		`["a",]`, `[,"a"]`, `["a" "b"]`, `["a""b"]`, `["a"],`, `["a"]]`, `["a"]}`, `["a"] x`, `["a"`, `"a"`, `null`,
		`[null]`, `["a", null]`, `[nul]`, `[true]`, `[1]`, `["a", 1]`, `[["a"]]`, `[{"a": "b"}]`, `{"a": "b"}`,
		`["\""]`, `["\\"]`, `["\"]`, `["\/"]`, `["\b\f\n\r\t"]`, `["\x"]`, `["\'"]`, `["\u00e9"]`, `["\u00E9"]`,
		`["\u00e"]`, `["\ud800"]`, `["\U00e9"]`, "[\"\x7f\"]", "[\"\x1f\"]", "[\"\x00\"]", "[\"a\tb\"]", `["é", "😀"]`,
		strings.Repeat(e, 4096), strings.Repeat(e, 4097), `["` + strings.Repeat("a", 8188) + `"]`,
	} {
		f.Add("", "a", "", "", def, false)
		f.Add("", "a", "", "", def, true)
	}
	for _, p := range []string{
		".", "..", "...", "./a", "a/..", "../a", "a/../b", "a/..b", "/a", "a//b", "a/", "a\x00b", `a\..\b`,
		strings.Repeat(e, 2047), strings.Repeat(e, 2048), strings.Repeat("p", 4094), strings.Repeat("p", 4095),
	} {
		f.Add("", "a", p, "", "", false)
		f.Add(p, "a", "", "", "", false)
		f.Add(p, "a", "a", "", "", false)
	}
	for _, q := range []string{
		"0", "64", "4Ki", "1Mi", "1024Ki", "1025Ki", "1048576", "1048577", "1M", "2M", "1G", "0Gi", "1Gi", "1k",
		"1K", "1KB", "1Ei", "1m", "-1", "+1", "1.5Ki", "1e3", " 1Ki", "1Ki ", "Ki", "00000000000000000000000000001Mi",
		"000000000000000000000000000001Mi", "99999999999999999999999999999999", "9223372036854775807", "1٣",
	} {
		f.Add("", "a", "", q, "", false)
	}
	for _, name := range []string{
		"", "a", "-a", "a-", "a.b", "a_b", "A9", "a b", "a\n", "a/b", "é", strings.Repeat("n", 63), strings.Repeat("n", 64),
	} {
		f.Add("", name, "", "", "", false)
	}
	f.Fuzz(func(t *testing.T, dir, name, path, threshold, def string, array bool) {
		for _, s := range []string{dir, name, path, threshold, def} {
			if !utf8.ValidString(s) {
				t.Skip("the API server holds UTF-8 only")
			}
		}
		spec := ResultMaterializeSpec{Directory: dir, Threshold: threshold, Results: []ResultSpec{{Name: name, Path: path, Optional: true, Default: def}}}
		if array {
			spec.Results[0].Type = resultmaterialize.TypeArray
		}
		goErr := (&ResultMaterialize{Spec: spec}).Validate(context.Background())
		crdErrs := api.create(object(sent(t, spec)))
		if (goErr != nil) != (len(crdErrs) > 0) {
			t.Errorf("Go and the CRD disagree on %+v:\nGo: %v\nCRD: %v", spec, goErr, crdErrs.ToAggregate())
		}
	})
}

// TestLargestSpecWithinCostBudget: a spec at every limit at once passes
// the Go validation and the CRD's rules within the API server's cost
// budget for one object. Its strings are ASCII, so that each byte is a
// character: the rules' cost counts characters. Half of its defaults are
// arrays, half strings a regex reads to their last byte.
func TestLargestSpecWithinCostBudget(t *testing.T) {
	api := newAPIServer(t)
	dir := strings.Repeat("d", 1000)
	spec := ResultMaterializeSpec{Directory: dir, Threshold: "1Mi", OnOversize: resultmaterialize.PolicyReference}
	for i := range resultmaterialize.MaxResults {
		r := ResultSpec{
			Name:     fmt.Sprintf("%s%02d", strings.Repeat("n", resultmaterialize.MaxNameLength-2), i),
			Path:     strings.Repeat("p", resultmaterialize.MaxPathLength-len(dir)-1),
			JSONPath: "{." + strings.Repeat("j", resultmaterialize.MaxQueryLength-3) + "}",
			Optional: true,
		}
		if i%2 == 0 {
			r.Type = resultmaterialize.TypeArray
			r.Default = `["` + strings.Repeat("a", resultmaterialize.MaxDefaultLength-4) + `"]`
		} else {
			r.Default = `["` + strings.Repeat("a", resultmaterialize.MaxDefaultLength-7) + `", 1]`
		}
		spec.Results = append(spec.Results, r)
	}
	if err := (&ResultMaterialize{Spec: spec}).Validate(context.Background()); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	obj := object(sent(t, spec))
	if errs := api.create(obj); len(errs) > 0 {
		t.Fatalf("the CRD refuses the largest spec: %v", errs.ToAggregate())
	}
	_, left := api.rules.Validate(context.Background(), nil, api.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	t.Logf("the CRD's rules cost %d of the API server's budget of %d", celconfig.RuntimeCELCostBudget-left, celconfig.RuntimeCELCostBudget)
}

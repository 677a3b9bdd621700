package resultmaterialize

import (
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
)

// TestCheckProjections: a jsonPath or expression that does not compile is
// refused where the spec is resolved, naming the field, the value and the
// compiler's error; the API package links no projection engine.
func TestCheckProjections(t *testing.T) {
	tests := []struct {
		name string
		spec v1alpha1.ResultMaterializeSpec
		want string
	}{
		{name: "projections", spec: v1alpha1.ResultMaterializeSpec{Results: []v1alpha1.ResultSpec{
			{Name: "a", Path: "m.json", JSONPath: "{.shards[*].name}", Type: resultmaterialize.TypeArray},
			{Name: "b", Path: "m.yaml", Expression: "doc.accuracy > 0.9", Format: resultmaterialize.SyntaxYAML},
		}}},
		{name: "jsonPath syntax", spec: v1alpha1.ResultMaterializeSpec{Results: []v1alpha1.ResultSpec{{Name: "a", JSONPath: "{.a[x]}"}}},
			want: "invalid value: {.a[x]}: spec.results[0].jsonPath\njsonPath \"{.a[x]}\": invalid array index x"},
		{name: "expression syntax", spec: v1alpha1.ResultMaterializeSpec{Results: []v1alpha1.ResultSpec{{Name: "a", Expression: "doc.a >"}}},
			want: "invalid value: doc.a >: spec.results[0].expression\nexpression \"doc.a >\": ERROR: <input>:1:8: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | doc.a >\n | .......^"},
		{name: "expression with an unknown name", spec: v1alpha1.ResultMaterializeSpec{Results: []v1alpha1.ResultSpec{{Name: "a", Expression: "metrics.a > 1"}}},
			want: "invalid value: metrics.a > 1: spec.results[0].expression\nexpression \"metrics.a > 1\": ERROR: <input>:1:1: undeclared reference to 'metrics' (in container '')\n | metrics.a > 1\n | ^"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := checkProjections(tc.spec).ViaField("spec"); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("checkProjections() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

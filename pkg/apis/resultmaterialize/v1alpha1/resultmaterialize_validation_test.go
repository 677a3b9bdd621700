package v1alpha1

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

func TestValidate(t *testing.T) {
	ok := []ResultSpec{{Name: "a"}}
	tests := []struct {
		name string
		spec ResultMaterializeSpec
		want string
	}{
		{name: "valid", spec: ResultMaterializeSpec{Results: ok, Threshold: "4Ki", OnOversize: resultmaterialize.PolicyTruncate, Directory: "out"}},
		{name: "no results", spec: ResultMaterializeSpec{}, want: "missing field(s): spec.results"},
		{name: "bad threshold", spec: ResultMaterializeSpec{Results: ok, Threshold: "4KB"},
			want: "invalid value: 4KB: spec.threshold\n\"4KB\" is not a byte quantity: want a non-negative integer with an optional suffix Ki, Mi, Gi, k, M or G"},
		{name: "bad policy", spec: ResultMaterializeSpec{Results: ok, OnOversize: "drop"},
			want: "invalid value: drop: spec.onOversize\nwant one of [\"reference\" \"fail\" \"truncate\"]"},
		{name: "bad directory", spec: ResultMaterializeSpec{Results: ok, Directory: "/abs"},
			want: "invalid value: /abs: spec.directory\npath \"/abs\" is absolute: want a path relative to the workspace root"},
		{name: "bad result path", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Path: "../a"}}},
			want: "invalid value: ../a: spec.results[0].path\npath \"../a\" contains \"..\": paths must stay inside the workspace"},
		{name: "bad result threshold", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Threshold: "2Mi"}}},
			want: "invalid value: 2Mi: spec.results[0].threshold\n\"2Mi\" is 2097152 bytes, above the limit of 1048576 bytes (1Mi)"},
		{name: "collision", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a"}, {Name: "a-sha256"}}},
			want: "result \"a-sha256\" collides with a companion of result \"a\": spec.results"},
		{name: "array", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: resultmaterialize.TypeArray, Format: resultmaterialize.LayoutLines}}}},
		{name: "bad type", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: "list"}}},
			want: "invalid value: list: spec.results[0].type\nwant one of [\"string\" \"array\"]"},
		{name: "format without array", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Format: resultmaterialize.LayoutLines}}},
			want: "invalid value: lines: spec.results[0].format\na format applies only to type: array or to a projection"},
		{name: "bad format", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: resultmaterialize.TypeArray, Format: "csv"}}},
			want: "invalid value: csv: spec.results[0].format\nwant one of [\"json\" \"lines\" \"yaml\"]"},
		{name: "projections", spec: ResultMaterializeSpec{Results: []ResultSpec{
			{Name: "a", Path: "m.json", JSONPath: "{.shards[*].name}", Type: resultmaterialize.TypeArray},
			{Name: "b", Path: "m.yaml", Expression: "doc.accuracy > 0.9", Format: resultmaterialize.SyntaxYAML},
		}}},
		{name: "both projections", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", JSONPath: "{.a}", Expression: "doc.a"}}},
			want: "expected exactly one, got both: spec.results[0].expression, spec.results[0].jsonPath"},
		{name: "yaml without a projection", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: resultmaterialize.TypeArray, Format: resultmaterialize.SyntaxYAML}}},
			want: "invalid value: yaml: spec.results[0].format\nyaml applies only to a projection (jsonPath or expression): an array's file is json or lines"},
		{name: "projection of lines", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", JSONPath: "{.a}", Format: resultmaterialize.LayoutLines}}},
			want: "invalid value: lines: spec.results[0].format\na projection reads json or yaml"},
		{name: "projection in base64", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", JSONPath: "{.a}", Encoding: resultmaterialize.EncodingBase64}}},
			want: "invalid value: base64: spec.results[0].encoding\na projected value is text"},
		{name: "array truncated", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: resultmaterialize.TypeArray, OnOversize: resultmaterialize.PolicyTruncate}}},
			want: "invalid value: truncate: spec.results[0].onOversize\nan array result is surfaced whole or not at all: above its threshold it fails the run"},
		{name: "array in base64", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: resultmaterialize.TypeArray, Encoding: resultmaterialize.EncodingBase64}}},
			want: "invalid value: base64: spec.results[0].encoding\nan array result is text: its items are strings"},
		{name: "optional array without a list default", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Type: resultmaterialize.TypeArray, Optional: true, Default: "x"}}},
			want: "invalid value: x: spec.results[0].default\nan optional array result needs a default that is a non-empty JSON array of strings"},
		{name: "string default read as an array", spec: ResultMaterializeSpec{Results: []ResultSpec{{Name: "a", Optional: true, Default: `["x"]`}}},
			want: "invalid value: [\"x\"]: spec.results[0].default\nTekton passes a JSON array of strings to consumers as an array param: set type: array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rm := &ResultMaterialize{Spec: tc.spec}
			got := ""
			if err := rm.Validate(context.Background()); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestApplyParamsAndDefaults(t *testing.T) {
	spec := ResultMaterializeSpec{Threshold: "1Ki", Results: []ResultSpec{{Name: "a", Optional: true, Default: "x"}, {Name: "b"}}}
	params := v1beta1.Params{
		{Name: "results", Value: *v1beta1.NewStructuredValues("a=dir/a.txt", "c", "acc=m.json#{.metrics[?(@.name==\"a#b\")].value}", "ok=m.json#cel:doc.loss < 0.1", "b#{.b}")},
		{Name: "on-oversize", Value: *v1beta1.NewStructuredValues("fail")},
		{Name: "workspace", Value: *v1beta1.NewStructuredValues("out")},
	}
	if err := spec.ApplyParams(fromTekton(params)); err != nil {
		t.Fatal(err)
	}
	spec.SetDefaults(context.Background())
	want := ResultMaterializeSpec{Workspace: "out", Directory: ".", Threshold: "1Ki", OnOversize: resultmaterialize.PolicyFail, Results: []ResultSpec{
		{Name: "a", Path: "dir/a.txt", Optional: true, Default: "x", Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString},
		{Name: "c", Path: "c", Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString},
		{Name: "acc", Path: "m.json", JSONPath: `{.metrics[?(@.name=="a#b")].value}`, Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString, Format: resultmaterialize.SyntaxJSON},
		{Name: "ok", Path: "m.json", Expression: "doc.loss < 0.1", Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString, Format: resultmaterialize.SyntaxJSON},
		{Name: "b", Path: "b", JSONPath: "{.b}", Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString, Format: resultmaterialize.SyntaxJSON},
	}}
	if d := cmp.Diff(want, spec); d != "" {
		t.Errorf("spec (-want +got):\n%s", d)
	}
}

func TestApplyParamsErrors(t *testing.T) {
	tests := []struct {
		param v1beta1.Param
		want  string
	}{
		{v1beta1.Param{Name: "nope", Value: *v1beta1.NewStructuredValues("1")},
			"unknown param \"nope\": params[nope]\naccepted params are [\"workspace\" \"directory\" \"results\" \"threshold\" \"on-oversize\" \"retain\" \"provenance\"]"},
		{v1beta1.Param{Name: "threshold", Value: *v1beta1.NewStructuredValues("1", "2")},
			"invalid value type: array: params[threshold].value\nparam \"threshold\" must be a string"},
		{v1beta1.Param{Name: "results", Value: *v1beta1.NewStructuredValues("a=", "b")},
			"invalid value: a=: params[results].value\nthe path after \"=\" is empty: want \"name\", \"name=relative/path\", \"name=path#{jsonpath}\" or \"name=path#cel:expression\""},
		{v1beta1.Param{Name: "results", Value: *v1beta1.NewStructuredValues("a=out#1.json", "b")},
			"invalid value: a=out#1.json: params[results].value\nafter \"#\" comes a projection, {jsonpath} or cel:expression, not \"1.json\" (a path holding \"#\" needs the spec form): want \"name\", \"name=relative/path\", \"name=path#{jsonpath}\" or \"name=path#cel:expression\""},
		{v1beta1.Param{Name: "results", Value: *v1beta1.NewStructuredValues("a=m.json#cel:", "b")},
			"invalid value: a=m.json#cel:: params[results].value\nafter \"#\" comes a projection, {jsonpath} or cel:expression, not \"cel:\" (a path holding \"#\" needs the spec form): want \"name\", \"name=relative/path\", \"name=path#{jsonpath}\" or \"name=path#cel:expression\""},
	}
	for _, tc := range tests {
		var spec ResultMaterializeSpec
		got := spec.ApplyParams(fromTekton(v1beta1.Params{tc.param}))
		if got == nil || got.Error() != tc.want {
			t.Errorf("ApplyParams(%s) =\n%v\nwant\n%s", tc.param.Name, got, tc.want)
		}
	}
}

// fromTekton copies Tekton params as the reconciler does.
func fromTekton(ps v1beta1.Params) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		out[i] = Param{Name: p.Name, Type: string(p.Value.Type), StringVal: p.Value.StringVal, ArrayVal: p.Value.ArrayVal}
	}
	return out
}

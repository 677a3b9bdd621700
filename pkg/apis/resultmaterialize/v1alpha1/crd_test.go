package v1alpha1

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestCRDSchemaMatchesTypes keeps config/300-resultmaterialize.yaml in step
// with the Go types: every JSON field is in the schema and nothing else.
func TestCRDSchemaMatchesTypes(t *testing.T) {
	crd := loadCRD(t)
	if got := crd.Spec.Names.Kind; got != "ResultMaterialize" || crd.Spec.Group != SchemeGroupVersion.Group {
		t.Fatalf("CRD is %s in %s, want ResultMaterialize in %s", got, crd.Spec.Group, SchemeGroupVersion.Group)
	}
	v := crd.Spec.Versions[0]
	if v.Name != SchemeGroupVersion.Version {
		t.Fatalf("CRD version %s, want %s", v.Name, SchemeGroupVersion.Version)
	}
	spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
	compare(t, "spec", reflect.TypeOf(ResultMaterializeSpec{}), spec)
	item := *spec.Properties["results"].Items.Schema
	compare(t, "spec.results[]", reflect.TypeOf(ResultSpec{}), item)
	// Each enum also holds "", the default, which the Go validation
	// accepts as it accepts the field left out.
	enums := map[string][]string{
		"spec.onOversize":           append([]string{""}, strs(resultmaterialize.Policies)...),
		"spec.results[].onOversize": append([]string{""}, strs(resultmaterialize.Policies)...),
		"spec.results[].encoding":   append([]string{""}, strs(resultmaterialize.Encodings)...),
		"spec.results[].type":       append([]string{""}, strs(resultmaterialize.Types)...),
		"spec.results[].format":     append([]string{""}, strs(resultmaterialize.Formats)...),
		"spec.retain":               append([]string{""}, strs(resultmaterialize.Retains)...),
		"spec.results[].retain":     append([]string{""}, strs(resultmaterialize.Retains)...),
	}
	props := map[string]apiextensionsv1.JSONSchemaProps{
		"spec.onOversize":           spec.Properties["onOversize"],
		"spec.results[].onOversize": item.Properties["onOversize"],
		"spec.results[].encoding":   item.Properties["encoding"],
		"spec.results[].type":       item.Properties["type"],
		"spec.results[].format":     item.Properties["format"],
		"spec.retain":               spec.Properties["retain"],
		"spec.results[].retain":     item.Properties["retain"],
	}
	for field, want := range enums {
		var got []string
		for _, e := range props[field].Enum {
			got = append(got, strings.Trim(string(e.Raw), `"`))
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: Go list (-) and CRD enum (+) differ:\n%s", field, d)
		}
	}
}

func strs[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

func compare(t *testing.T, where string, typ reflect.Type, schema apiextensionsv1.JSONSchemaProps) {
	t.Helper()
	kinds := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Slice: "array"}
	var fromGo, fromSchema []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		fromGo = append(fromGo, name+":"+kinds[ft.Kind()])
	}
	for name, prop := range schema.Properties {
		fromSchema = append(fromSchema, name+":"+prop.Type)
	}
	sort.Strings(fromGo)
	sort.Strings(fromSchema)
	if d := cmp.Diff(fromGo, fromSchema); d != "" {
		t.Errorf("%s: Go fields (-) and CRD schema (+) differ:\n%s", where, d)
	}
}

// TestCRDDescribesEveryField: kubectl explain reads like documentation.
func TestCRDDescribesEveryField(t *testing.T) {
	crd := loadCRD(t)
	var walk func(path string, p apiextensionsv1.JSONSchemaProps)
	walk = func(path string, p apiextensionsv1.JSONSchemaProps) {
		if p.Description == "" && path != "metadata" {
			t.Errorf("%s has no description", path)
		}
		for name, child := range p.Properties {
			walk(strings.TrimPrefix(path+"."+name, "."), child)
		}
		if p.Items != nil && p.Items.Schema != nil {
			walk(path+"[]", *p.Items.Schema)
		}
	}
	for name, p := range crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties {
		walk(name, p)
	}
}

// TestCRDCompanionRuleNamesEveryCompanion: the CEL rule refusing a name
// equal to another result's companion lists the suffixes the engine emits.
func TestCRDCompanionRuleNamesEveryCompanion(t *testing.T) {
	crd := loadCRD(t)
	var rule string
	for _, v := range crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["results"].XValidations {
		if strings.Contains(v.Message, "companion") {
			rule = v.Rule
		}
	}
	want := 0
	for _, c := range resultmaterialize.AllCompanions() {
		want++
		if !strings.Contains(rule, "r.name + '"+c.Suffix+"'") {
			t.Errorf("the companion rule %q does not name %s", rule, c.Suffix)
		}
	}
	if got := strings.Count(rule, "r.name + '"); got != want {
		t.Errorf("the companion rule names %d suffixes, the engine emits %d", got, want)
	}
}

// loadCRD reads the shipped CRD.
func loadCRD(t testing.TB) apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	raw, err := os.ReadFile("../../../../config/300-resultmaterialize.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		t.Fatalf("decoding the CRD: %v", err)
	}
	return crd
}

package v1alpha1

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

	"fmt"
	"strings"

	"knative.dev/pkg/apis"
)

// Param names a CustomRun may set; each overrides the spec field of the
// same name.
const (
	ParamWorkspace  = "workspace"
	ParamDirectory  = "directory"
	ParamResults    = "results"
	ParamThreshold  = "threshold"
	ParamOnOversize = "on-oversize"
	ParamRetain     = "retain"
	ParamProvenance = "provenance"
)

// ParamNames lists every accepted param.
var ParamNames = []string{ParamWorkspace, ParamDirectory, ParamResults, ParamThreshold, ParamOnOversize, ParamRetain, ParamProvenance}

// Param is one CustomRun param as ApplyParams reads it. The reconciler
// copies it from Tekton's param, whose package links cel-go, which this
// package must not.
//
// +k8s:deepcopy-gen=false
type Param struct {
	// Name is the param's name.
	Name string
	// Type is Tekton's param type: string, array or object.
	Type string
	// StringVal is a string param's value.
	StringVal string
	// ArrayVal is an array param's items.
	ArrayVal []string
}

// Tekton's param types that ApplyParams accepts.
const (
	ParamTypeString = "string"
	ParamTypeArray  = "array"
)

// ApplyParams overrides the spec with the CustomRun's params, field by
// field. A results param replaces the list; an entry naming a result the
// spec already has keeps that result's other settings.
func (s *ResultMaterializeSpec) ApplyParams(params []Param) *apis.FieldError {
	var errs *apis.FieldError
	for _, p := range params {
		fe := s.applyParam(p)
		errs = errs.Also(fe.ViaFieldKey("params", p.Name))
	}
	return errs
}

func (s *ResultMaterializeSpec) applyParam(p Param) *apis.FieldError {
	if p.Name == ParamResults {
		if p.Type != ParamTypeArray {
			return &apis.FieldError{Message: fmt.Sprintf("invalid value type: %s", p.Type), Paths: []string{"value"},
				Details: `results must be an array of "name", "name=relative/path", "name=path#{jsonpath}" or "name=path#cel:expression"`}
		}
		return s.applyResults(p.ArrayVal)
	}
	if p.Type != ParamTypeString {
		return &apis.FieldError{Message: fmt.Sprintf("invalid value type: %s", p.Type), Paths: []string{"value"},
			Details: fmt.Sprintf("param %q must be a string", p.Name)}
	}
	v := p.StringVal
	switch p.Name {
	case ParamWorkspace:
		s.Workspace = v
	case ParamDirectory:
		s.Directory = v
	case ParamThreshold:
		s.Threshold = v
	case ParamOnOversize:
		s.OnOversize = resultmaterialize.Policy(v)
	case ParamRetain:
		s.Retain = resultmaterialize.Retain(v)
	case ParamProvenance:
		if v != "true" && v != "false" {
			return &apis.FieldError{Message: fmt.Sprintf("invalid value: %s", v), Paths: []string{"value"}, Details: `provenance is "true" or "false"`}
		}
		s.Provenance = ptr(v == "true")
	default:
		return &apis.FieldError{Message: fmt.Sprintf("unknown param %q", p.Name), Paths: []string{apis.CurrentField},
			Details: fmt.Sprintf("accepted params are %q", ParamNames)}
	}
	return nil
}

func (s *ResultMaterializeSpec) applyResults(entries []string) *apis.FieldError {
	byName := map[string]ResultSpec{}
	for _, r := range s.Results {
		byName[r.Name] = r
	}
	results := make([]ResultSpec, 0, len(entries))
	for _, entry := range entries {
		r, err := parseEntry(entry, byName)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	s.Results = results
	return nil
}

// CELPrefix marks an expression in a results entry: name=path#cel:expr.
const CELPrefix = "cel:"

// parseEntry reads one results entry: name, name=path, and either with
// #{jsonpath} or #cel:expression after it. The first "#" starts the
// projection, so a path given this way cannot hold one; the spec form can.
func parseEntry(entry string, byName map[string]ResultSpec) (ResultSpec, *apis.FieldError) {
	bad := func(why string) *apis.FieldError {
		return &apis.FieldError{Message: fmt.Sprintf("invalid value: %s", entry), Paths: []string{"value"},
			Details: why + `: want "name", "name=relative/path", "name=path#{jsonpath}" or "name=path#cel:expression"`}
	}
	target, query, projected := strings.Cut(entry, "#")
	name, path, hasPath := strings.Cut(target, "=")
	r, ok := byName[name]
	if !ok {
		r = ResultSpec{Name: name}
	}
	if hasPath {
		if path == "" {
			return r, bad("the path after \"=\" is empty")
		}
		r.Path = path
	}
	if !projected {
		return r, nil
	}
	switch {
	case strings.HasPrefix(query, "{"):
		r.JSONPath, r.Expression = query, ""
	case strings.HasPrefix(query, CELPrefix) && len(query) > len(CELPrefix):
		r.JSONPath, r.Expression = "", strings.TrimPrefix(query, CELPrefix)
	default:
		return r, bad(fmt.Sprintf("after \"#\" comes a projection, {jsonpath} or cel:expression, not %q (a path holding \"#\" needs the spec form)", query))
	}
	return r, nil
}

func ptr[T any](v T) *T { return &v }

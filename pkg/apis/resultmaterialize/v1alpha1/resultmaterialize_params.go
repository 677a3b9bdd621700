package v1alpha1

import (
	"fmt"
	"strings"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
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
)

// ParamNames lists every accepted param.
var ParamNames = []string{ParamWorkspace, ParamDirectory, ParamResults, ParamThreshold, ParamOnOversize}

// ApplyParams overrides the spec with the CustomRun's params, field by
// field. A results param replaces the list; an entry naming a result the
// spec already has keeps that result's other settings.
func (s *ResultMaterializeSpec) ApplyParams(params v1beta1.Params) *apis.FieldError {
	var errs *apis.FieldError
	for _, p := range params {
		fe := s.applyParam(p)
		errs = errs.Also(fe.ViaFieldKey("params", p.Name))
	}
	return errs
}

func (s *ResultMaterializeSpec) applyParam(p v1beta1.Param) *apis.FieldError {
	if p.Name == ParamResults {
		if p.Value.Type != v1beta1.ParamTypeArray {
			return &apis.FieldError{Message: fmt.Sprintf("invalid value type: %s", p.Value.Type), Paths: []string{"value"},
				Details: `results must be an array of "name" or "name=relative/path"`}
		}
		return s.applyResults(p.Value.ArrayVal)
	}
	if p.Value.Type != v1beta1.ParamTypeString {
		return &apis.FieldError{Message: fmt.Sprintf("invalid value type: %s", p.Value.Type), Paths: []string{"value"},
			Details: fmt.Sprintf("param %q must be a string", p.Name)}
	}
	v := p.Value.StringVal
	switch p.Name {
	case ParamWorkspace:
		s.Workspace = v
	case ParamDirectory:
		s.Directory = v
	case ParamThreshold:
		s.Threshold = v
	case ParamOnOversize:
		s.OnOversize = materialize.Policy(v)
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
		name, path, hasPath := strings.Cut(entry, "=")
		r, ok := byName[name]
		if !ok {
			r = ResultSpec{Name: name}
		}
		if hasPath {
			if path == "" {
				return &apis.FieldError{Message: fmt.Sprintf("invalid value: %s", entry), Paths: []string{"value"},
					Details: `want "name" or "name=relative/path"`}
			}
			r.Path = path
		}
		results = append(results, r)
	}
	s.Results = results
	return nil
}

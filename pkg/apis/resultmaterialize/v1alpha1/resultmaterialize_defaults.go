package v1alpha1

import (
	"context"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
)

// SetDefaults fills in the defaults that do not depend on the cluster's
// configuration; threshold and policy come from config-materialize when
// the run is resolved.
func (rm *ResultMaterialize) SetDefaults(ctx context.Context) {
	rm.Spec.SetDefaults(ctx)
}

// SetDefaults sets the directory to the workspace root, each path to the
// result's name, each encoding to text, each type to string, each
// array's layout and each projection's syntax to json.
func (s *ResultMaterializeSpec) SetDefaults(context.Context) {
	if s.Directory == "" {
		s.Directory = "."
	}
	for i := range s.Results {
		r := &s.Results[i]
		if r.Path == "" {
			r.Path = r.Name
		}
		if r.Encoding == "" {
			r.Encoding = resultmaterialize.EncodingText
		}
		if r.Type == "" {
			r.Type = resultmaterialize.TypeString
		}
		if r.Format == "" && r.Projected() {
			r.Format = resultmaterialize.SyntaxJSON
		} else if r.Format == "" && r.Type == resultmaterialize.TypeArray {
			r.Format = resultmaterialize.LayoutJSON
		}
	}
}

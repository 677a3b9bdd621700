package v1alpha1

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

	"context"
	"fmt"
	"testing"
)

// TestOversizeAgreesWithValidation: for every policy, type and projection,
// the Go validation and the shipped CRD's CEL rules refuse a result
// exactly when its policy asks for a truncation Oversize never gives (an
// array), each naming onOversize. Both tables hold such rows
// (invalid-specs.yaml: "a truncated array", "a truncated projected
// array"), so a real API server is held to the rule too.
func TestOversizeAgreesWithValidation(t *testing.T) {
	api := newAPIServer(t)
	for _, policy := range resultmaterialize.Policies {
		for _, typ := range resultmaterialize.Types {
			for _, projected := range []bool{false, true} {
				r := ResultSpec{Name: "a", Type: typ, OnOversize: policy}
				if projected {
					r.JSONPath = "{.a}"
				}
				spec := ResultMaterializeSpec{Results: []ResultSpec{r}}
				name := fmt.Sprintf("%s %s projected %v", policy, typ, projected)
				wantRefused := policy == resultmaterialize.PolicyTruncate && resultmaterialize.Oversize(policy, typ, projected).Oversize != resultmaterialize.BecomesTruncated
				goErr := (&ResultMaterialize{Spec: spec}).Validate(context.Background())
				crdErrs := api.create(object(sent(t, spec)))
				if (goErr != nil) != wantRefused || (len(crdErrs) > 0) != wantRefused {
					t.Errorf("%s: Go %v, CRD %v; want refused %v", name, goErr, crdErrs.ToAggregate(), wantRefused)
				}
			}
		}
	}
}

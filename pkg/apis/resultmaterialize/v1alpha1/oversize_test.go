package v1alpha1

import (
	"context"
	"fmt"
	"testing"
)

func TestOversize(t *testing.T) {
	tests := []struct {
		policy    Policy
		typ       Type
		projected bool
		want      Outcomes
	}{
		{PolicyReference, TypeString, false, Outcomes{Oversize: BecomesReference, Demotable: true}},
		{PolicyTruncate, TypeString, false, Outcomes{Oversize: BecomesTruncated, Demotable: true}},
		{PolicyFail, TypeString, false, Outcomes{Oversize: BecomesFailure}},
		{"drop", TypeString, false, Outcomes{Demotable: true}},
		{PolicyReference, TypeString, true, Outcomes{Oversize: BecomesFailure}},
		{PolicyTruncate, TypeString, true, Outcomes{Oversize: BecomesTruncated}},
		{PolicyFail, TypeString, true, Outcomes{Oversize: BecomesFailure}},
		{PolicyReference, TypeArray, false, Outcomes{Oversize: BecomesFailure}},
		{PolicyTruncate, TypeArray, false, Outcomes{Oversize: BecomesFailure}},
		{PolicyFail, TypeArray, false, Outcomes{Oversize: BecomesFailure}},
		{PolicyReference, TypeArray, true, Outcomes{Oversize: BecomesFailure}},
		{PolicyTruncate, TypeArray, true, Outcomes{Oversize: BecomesFailure}},
		{PolicyFail, TypeArray, true, Outcomes{Oversize: BecomesFailure}},
	}
	for _, tc := range tests {
		if got := Oversize(tc.policy, tc.typ, tc.projected); got != tc.want {
			t.Errorf("Oversize(%s, %s, projected %v) = %+v, want %+v", tc.policy, tc.typ, tc.projected, got, tc.want)
		}
	}
}

// TestOversizeAgreesWithValidation: for every policy, type and projection,
// the Go validation and the shipped CRD's CEL rules refuse a result
// exactly when its policy asks for a truncation Oversize never gives (an
// array), each naming onOversize. Both tables hold such rows
// (invalid-specs.yaml: "a truncated array", "a truncated projected
// array"), so a real API server is held to the rule too.
func TestOversizeAgreesWithValidation(t *testing.T) {
	api := newAPIServer(t)
	for _, policy := range Policies {
		for _, typ := range Types {
			for _, projected := range []bool{false, true} {
				r := ResultSpec{Name: "a", Type: typ, OnOversize: policy}
				if projected {
					r.JSONPath = "{.a}"
				}
				spec := ResultMaterializeSpec{Results: []ResultSpec{r}}
				name := fmt.Sprintf("%s %s projected %v", policy, typ, projected)
				wantRefused := policy == PolicyTruncate && Oversize(policy, typ, projected).Oversize != BecomesTruncated
				goErr := (&ResultMaterialize{Spec: spec}).Validate(context.Background())
				crdErrs := api.create(object(sent(t, spec)))
				if (goErr != nil) != wantRefused || (len(crdErrs) > 0) != wantRefused {
					t.Errorf("%s: Go %v, CRD %v; want refused %v", name, goErr, crdErrs.ToAggregate(), wantRefused)
				}
			}
		}
	}
}

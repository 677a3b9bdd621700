package resultmaterialize

import (
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

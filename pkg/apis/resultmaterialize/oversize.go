package resultmaterialize

// Becomes is what a value above its threshold becomes.
type Becomes string

const (
	// BecomesReference means the result holds the file's path; the value stays
	// in the workspace.
	BecomesReference Becomes = "reference"
	// BecomesTruncated means the result holds the longest prefix within the
	// threshold.
	BecomesTruncated Becomes = "truncated"
	// BecomesFailure means the run fails, naming the result, its size and the
	// limit.
	BecomesFailure Becomes = "failure"
)

// Outcomes is what a result may become. Any result within its threshold
// is inline; Oversize says what it becomes above it, and Demotable whether
// an inline or truncated value may become a reference to keep the run
// within max-inline-total.
//
// +k8s:deepcopy-gen=false
type Outcomes struct {
	// Oversize is empty for a string result read whole under a policy
	// that is not one of Policies.
	Oversize Becomes
	// Demotable is false where no file of the result's own can be
	// pointed at (an array is surfaced whole or not at all, a projected
	// value exists only where it was computed) or where the policy is
	// fail.
	Demotable bool
}

// Oversize is the one rule of what a result may become: an array is
// surfaced whole or fails, whatever its policy; a projection has no file
// of its own, so it truncates under truncate and otherwise fails; a
// string read whole follows its policy. The plan, the engine, the inline
// budget and the validation all ask it; the CRD spells the part the API
// server can check (an array is never truncated) in CEL, held to it by
// the invalid-specs table.
func Oversize(policy Policy, typ Type, projected bool) Outcomes {
	switch {
	case typ == TypeArray:
		return Outcomes{Oversize: BecomesFailure}
	case projected && policy == PolicyTruncate:
		return Outcomes{Oversize: BecomesTruncated}
	case projected:
		return Outcomes{Oversize: BecomesFailure}
	}
	o := Outcomes{Demotable: policy != PolicyFail}
	switch policy {
	case PolicyReference:
		o.Oversize = BecomesReference
	case PolicyTruncate:
		o.Oversize = BecomesTruncated
	case PolicyFail:
		o.Oversize = BecomesFailure
	}
	return o
}

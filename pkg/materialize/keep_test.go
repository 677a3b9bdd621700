package materialize

import (
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

// FuzzKeeperMatchesBudget offers values one at a time to a Keeper and
// checks it keeps exactly what applyBudget keeps over all of them, when
// every value may be demoted and there are no defaults.
func FuzzKeeperMatchesBudget(f *testing.F) {
	f.Add([]byte{5, 6, 7, 0, 200, 6}, int64(10))
	f.Add([]byte{1, 1, 1, 1}, int64(2))
	f.Fuzz(func(t *testing.T, sizes []byte, budget int64) {
		if len(sizes) > 40 || budget < 0 {
			return
		}
		plan := Plan{MaxInlineTotal: budget}
		var reports []protocol.FileReport
		keep := NewKeeper(budget)
		kept := map[int]bool{}
		for i, s := range sizes {
			name := fmt.Sprintf("r%02d", (i*7)%41)
			plan.Results = append(plan.Results, result(name, 300, resultmaterialize.PolicyReference))
			reports = append(reports, found(strings.Repeat("x", int(s)), 300))
			w, err := Weigh(plan.Results[i], at(plan, reports)[i])
			if err != nil || !w.Candidate {
				t.Fatalf("Weigh(%d bytes) = %+v, %v", s, w, err)
			}
			kept[i] = true
			for _, j := range keep.Offer(i, name, w.Cost) {
				kept[j] = false
			}
		}
		out, err := Materialize(plan, at(plan, reports))
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]bool{}
		for i, row := range out.Rows {
			want[i] = row.Inline
		}
		if d := cmp.Diff(want, kept); d != "" {
			t.Errorf("kept (-applyBudget +Keeper):\n%s", d)
		}
	})
}

// TestKeeperKeepsASuperset checks that defaults and values that cannot
// be demoted only make the engine keep less than the Keeper did.
func TestKeeperKeepsASuperset(t *testing.T) {
	opt := result("opt", 10, resultmaterialize.PolicyReference)
	opt.Optional, opt.Default = true, "12345"
	plan := Plan{MaxInlineTotal: 10, Results: []Result{result("a", 10, resultmaterialize.PolicyReference), opt, result("b", 10, resultmaterialize.PolicyReference)}}
	reports := at(plan, []protocol.FileReport{found("1234", 10), {}, found("123", 10)})
	keep := NewKeeper(plan.MaxInlineTotal)
	for _, i := range []int{0, 2} {
		w, _ := Weigh(plan.Results[i], reports[i])
		if dropped := keep.Offer(i, plan.Results[i].Name, w.Cost); len(dropped) > 0 {
			t.Fatalf("Offer(%d) dropped %v; 4+3 bytes fit 10", i, dropped)
		}
	}
	out, err := Materialize(plan, reports)
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows[0].Reason != resultmaterialize.Demoted || out.Rows[2].Reason != resultmaterialize.Inline {
		t.Errorf("rows = %+v; with the 5-byte default the engine demotes a (4) and keeps b (3)", out.Rows)
	}
}

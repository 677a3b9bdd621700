package materialize

import (
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

func TestBudgetDemotesLargestFirstTiesByName(t *testing.T) {
	plan := Plan{MaxInlineTotal: 10, Results: []Result{
		result("c", 10, resultmaterialize.PolicyReference),
		result("b", 10, resultmaterialize.PolicyReference),
		result("a", 10, resultmaterialize.PolicyTruncate),
		result("d", 10, resultmaterialize.PolicyReference),
	}}
	reports := []protocol.FileReport{found("123456", 10), found("123456", 10), found("1234567", 10), found("12", 10)}
	got, fail := Materialize(plan, at(plan, reports))
	if fail != nil {
		t.Fatalf("Materialize failed: %v", fail)
	}
	var reasonsGot []resultmaterialize.Disposition
	for _, r := range got.Rows {
		reasonsGot = append(reasonsGot, r.Reason)
	}
	// a (7) goes first, then b (6) before c (6) by name: 6+2 = 8 <= 10.
	want := []resultmaterialize.Disposition{resultmaterialize.Inline, resultmaterialize.Demoted, resultmaterialize.Demoted, resultmaterialize.Inline}
	if d := cmp.Diff(want, reasonsGot); d != "" {
		t.Errorf("dispositions (-want +got):\n%s", d)
	}
	if got.Values[5].Value != "out/b" || got.Values[8].Value != "false" {
		t.Errorf("demoted result b = %q inline %q, want its path and false", got.Values[5].Value, got.Values[8].Value)
	}
}

func TestBudgetFailPolicy(t *testing.T) {
	plan := Plan{MaxInlineTotal: 4, Results: []Result{result("a", 10, resultmaterialize.PolicyFail), result("b", 10, resultmaterialize.PolicyReference)}}
	_, fail := Materialize(plan, at(plan, []protocol.FileReport{found("12345", 10), found("1", 10)}))
	if reasonOf(fail) != reasons.InlineBudgetExceeded {
		t.Fatalf("failure = %v, want %s", fail, reasons.InlineBudgetExceeded)
	}
	const want = `inline results total 6 bytes as stored JSON, above max-inline-total of 4 bytes, and result "a" (5 bytes), the largest left, has onOversize: fail`
	if msg := outcome.As(fail).Message; msg != want {
		t.Errorf("message = %q, want %q", msg, want)
	}
}

func TestBudgetDefaultsAlone(t *testing.T) {
	r := result("a", 10, resultmaterialize.PolicyReference)
	r.Optional, r.Default = true, "too long"
	plan := Plan{MaxInlineTotal: 3, Results: []Result{r}}
	_, fail := Materialize(plan, at(plan, []protocol.FileReport{{}}))
	if reasonOf(fail) != reasons.InlineBudgetExceeded {
		t.Fatalf("failure = %v, want %s", fail, reasons.InlineBudgetExceeded)
	}
}

func FuzzBudget(f *testing.F) {
	f.Add([]byte{5, 6, 7, 0, 200}, int64(10))
	f.Fuzz(func(t *testing.T, sizes []byte, budget int64) {
		if len(sizes) > 32 || budget < 0 {
			return
		}
		var plan Plan
		var reports []protocol.FileReport
		plan.MaxInlineTotal = budget
		for i, s := range sizes {
			plan.Results = append(plan.Results, result(fmt.Sprintf("r%02d", i), 100, resultmaterialize.PolicyReference))
			reports = append(reports, found(strings.Repeat("x", int(s)), 100))
		}
		out, fail := Materialize(plan, at(plan, reports))
		if fail != nil {
			t.Fatalf("reference policy must never fail the budget: %v", fail)
		}
		var total int64
		for i, row := range out.Rows {
			value := out.Values[i*5].Value
			if row.Inline {
				total += int64(len(value))
			} else if value != row.Path {
				t.Fatalf("%s is not inline but its value %q is not its path", row.Name, value)
			}
		}
		if total > budget {
			t.Fatalf("inline total %d above budget %d", total, budget)
		}
		again, _ := Materialize(plan, at(plan, reports))
		if !cmp.Equal(out, again) {
			t.Fatal("same inputs gave different outcomes")
		}
	})
}

package projection

import (
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// TestCELChargesWhatDynOperationsTouch: operations CEL's own costs
// charge 1 on dyn values reach the cost limit. Before, the first and the
// last ran until the 10 s timeout, the second gave its value after
// seconds that no context could interrupt (no comprehension checks it),
// and the third held 200 MB of strings to answer 1000.
func TestCELChargesWhatDynOperationsTouch(t *testing.T) {
	strs := `{"l": [` + strings.Repeat("1,", 999) + `1], "s": "` + strings.Repeat("x", 100000) + `", "t": "` + strings.Repeat("y", 100000) + `"}`
	for _, tc := range []struct{ doc, expr string }{
		{slowDoc, slowExpression},
		{slowDoc, "doc.a == doc.b" + strings.Repeat(" && doc.a == doc.b", 100)},
		{strs, "doc.l.map(x, doc.s + doc.s).size()"},
		{strs, "doc.l.all(x, doc.s < doc.t)"},
		{strs, "doc.l.all(x, doc.s != doc.t + 'y')"},
		{slowDoc, "doc.l.all(x, doc.a[0] in doc.b)"},
	} {
		got := project(t, tc.doc, protocol.Projection{Expression: tc.expr, MaxBytes: 4 << 20})
		if got.Err == nil || got.Err.Reason != reasons.ProjectionCostExceeded || !strings.Contains(got.Err.Message, "cost limit") {
			t.Errorf("%.60s = %q, %+v; want ProjectionCostExceeded for the cost limit", tc.expr, got.Value, got.Err)
		}
	}
}

// TestCELCostsKeepSmallComparisonsCheap: comparing scalars, or values of
// different sizes, stays cheap.
func TestCELCostsKeepSmallComparisonsCheap(t *testing.T) {
	doc := `{"items": [` + strings.Repeat(`{"name": "a", "rows": 1},`, 2000) + `{"name": "b", "rows": 2}], "s": "` + strings.Repeat("x", 100000) + `"}`
	for expr, want := range map[string]string{
		"doc.items.filter(i, i.name == 'b').size()": "1",
		"doc.items.exists(i, i.rows > 1)":           "true",
		"doc.items.all(x, doc.s != 'x')":            "true",
		"doc.items.map(i, i.name + '-').size()":     "2001",
		"'b' in doc.items.map(i, i.name)":           "true",
	} {
		if got := project(t, doc, protocol.Projection{Expression: expr, MaxBytes: 4 << 20}); got.Err != nil || got.Value != want {
			t.Errorf("%s = %q, %+v; want %q", expr, got.Value, got.Err, want)
		}
	}
}

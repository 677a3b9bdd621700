package materialize

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"sort"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// applyBudget keeps the stored (JSON-encoded) bytes of the run's inline
// values, costs[i] each, within plan.MaxInlineTotal by
// demoting inline and truncated values
// to references, largest first and ties broken by name, so the same inputs
// always give the same outcome. A result whose policy is fail, or an array
// (surfaced whole or not at all), or a projection (no file of its own to
// point at), cannot be demoted and fails the run instead. Defaulted values
// are user-written and never demoted: there is no file to point at.
func applyBudget(plan Plan, rows []resultmaterialize.Row, values []string, costs []int64) error {
	var total int64
	var candidates []int
	stored := costs
	for i, row := range rows {
		if row.Reason == resultmaterialize.Inline || row.Reason == resultmaterialize.Truncated || row.Reason == resultmaterialize.Defaulted {
			total += stored[i]
		}
		if row.Reason == resultmaterialize.Inline || row.Reason == resultmaterialize.Truncated {
			candidates = append(candidates, i)
		}
	}
	if total <= plan.MaxInlineTotal {
		return nil
	}
	sort.SliceStable(candidates, func(a, b int) bool {
		la, lb := stored[candidates[a]], stored[candidates[b]]
		if la != lb {
			return la > lb
		}
		return rows[candidates[a]].Name < rows[candidates[b]].Name
	})
	for _, i := range candidates {
		if total <= plan.MaxInlineTotal {
			break
		}
		if res := plan.Results[i]; !res.Oversize().Demotable {
			why := "has onOversize: fail"
			switch {
			case res.Type == resultmaterialize.TypeArray:
				why = "is an array, surfaced whole or not at all"
			case res.Projected():
				why = "is a projection, with no file of its own to reference"
			}
			return outcome.Fail(reasons.InlineBudgetExceeded,
				"inline results total %d bytes as stored JSON, above max-inline-total of %d bytes, and result %q (%d bytes), the largest left, %s", total, plan.MaxInlineTotal, rows[i].Name, stored[i], why)
		}
		total -= stored[i]
		values[i] = rows[i].Path
		rows[i].Inline, rows[i].Reason = false, resultmaterialize.Demoted
	}
	if total > plan.MaxInlineTotal {
		return outcome.Fail(reasons.InlineBudgetExceeded,
			"default values of missing optional results total %d bytes as stored JSON, above max-inline-total of %d bytes", total, plan.MaxInlineTotal)
	}
	return nil
}

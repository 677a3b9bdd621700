package materialize

import (
	"fmt"
	"sort"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// applyBudget keeps the run's inline bytes within plan.MaxInlineTotal by
// demoting inline and truncated values to references, largest first and
// ties broken by name, so the same inputs always give the same outcome. A
// result whose policy is fail cannot be demoted and fails the run instead.
// Defaulted values are user-written and never demoted: there is no file to
// point at.
func applyBudget(plan Plan, rows []Row, values []string) *Failure {
	var total int64
	var candidates []int
	for i, row := range rows {
		if row.Reason == Inline || row.Reason == Truncated || row.Reason == Defaulted {
			total += int64(len(values[i]))
		}
		if row.Reason == Inline || row.Reason == Truncated {
			candidates = append(candidates, i)
		}
	}
	if total <= plan.MaxInlineTotal {
		return nil
	}
	sort.SliceStable(candidates, func(a, b int) bool {
		la, lb := len(values[candidates[a]]), len(values[candidates[b]])
		if la != lb {
			return la > lb
		}
		return rows[candidates[a]].Name < rows[candidates[b]].Name
	})
	for _, i := range candidates {
		if total <= plan.MaxInlineTotal {
			break
		}
		if plan.Results[i].OnOversize == PolicyFail {
			return &Failure{Reason: reasons.InlineBudgetExceeded,
				Message: fmt.Sprintf("inline results total %d bytes, above max-inline-total of %d bytes, and result %q (%d bytes), the largest left, has onOversize: fail", total, plan.MaxInlineTotal, rows[i].Name, len(values[i]))}
		}
		total -= int64(len(values[i]))
		values[i] = rows[i].Path
		rows[i].Inline, rows[i].Reason = false, Demoted
	}
	if total > plan.MaxInlineTotal {
		return &Failure{Reason: reasons.InlineBudgetExceeded,
			Message: fmt.Sprintf("default values of missing optional results total %d bytes, above max-inline-total of %d bytes", total, plan.MaxInlineTotal)}
	}
	return nil
}

package materialize

import "github.com/resultmaterialize/controller/pkg/protocol"

// Keeper picks, one value at a time, the values a run can keep inline
// within its budget, so a source holds and sends only those: the reader
// pod prints no head the run cannot use. Over values that may all be
// demoted and with no defaults, it keeps exactly what applyBudget keeps
// over all of them at once (largest first, ties by name); defaults and
// values that cannot be demoted only make applyBudget demote more or
// fail, so what it keeps is always among what the Keeper kept.
//
// It holds at most the budget plus the value being offered: a value
// demoted once is never kept again, and every later value that ranks
// before it (larger, or as large with a smaller name) is demoted at once,
// as applyBudget would demote it before that one.
type Keeper struct {
	budget int64
	total  int64
	kept   map[int]rank
	cut    *rank
}

// rank orders values for demotion: larger first, ties by name.
type rank struct {
	cost int64
	name string
}

func (a rank) before(b rank) bool {
	return a.cost > b.cost || (a.cost == b.cost && a.name < b.name)
}

// NewKeeper keeps values within budget bytes of stored JSON.
func NewKeeper(budget int64) *Keeper {
	return &Keeper{budget: budget, kept: map[int]rank{}}
}

// Offer adds value i, named name, costing cost bytes of the budget, and
// returns the indexes of the values no longer kept, i among them when it
// is not kept.
func (k *Keeper) Offer(i int, name string, cost int64) []int {
	r := rank{cost, name}
	if k.cut != nil && r.before(*k.cut) {
		return []int{i}
	}
	k.kept[i] = r
	k.total += cost
	var dropped []int
	for k.total > k.budget && len(k.kept) > 0 {
		first := -1
		for j, c := range k.kept {
			if first < 0 || c.before(k.kept[first]) {
				first = j
			}
		}
		c := k.kept[first]
		k.cut = &c
		k.total -= c.cost
		delete(k.kept, first)
		dropped = append(dropped, first)
	}
	return dropped
}

// Weigh says what the engine makes of one report of res: whether its
// value competes for the run's inline budget and at what cost, or the
// error that fails the run. A source calls it where the bytes are, so it
// keeps only the heads the run can use.
func Weigh(res Result, rep protocol.FileReport) (cost int64, candidate bool, err error) {
	row, value, err := decide(res, rep)
	if err != nil || (row.Reason != Inline && row.Reason != Truncated) {
		return 0, false, err
	}
	return costOf(res, rep, value), true, nil
}

// costOf is what an inline or truncated value takes of the run's budget:
// its stored (JSON-encoded) size or, for an array whose file is larger
// than its compact value (whitespace), the file's size, so the bytes a
// reader sends for the values a run keeps never exceed the budget by
// more than a few bytes each.
func costOf(res Result, rep protocol.FileReport, value string) int64 {
	stored := JSONLen(value)
	if res.Type == TypeArray {
		return max(stored, int64(len(rep.Head)))
	}
	return stored
}

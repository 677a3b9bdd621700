package materialize

import (
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

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

// Weight is what the engine makes of one report, as far as its head is
// concerned.
type Weight struct {
	// Cost is the stored (JSON-encoded) size of the value the head makes.
	Cost int64
	// Candidate says the value is inline or truncated: it competes for
	// the run's inline budget, and Value is it.
	Candidate bool
	// Value is a candidate's value.
	Value string
	// Unused says the value ends by reference although the report carries
	// its head: the file fits its threshold but its stored value does not.
	Unused bool
}

// Weigh says what the engine makes of one report of res, or the error
// that fails the run. A source calls it where the bytes are, so it keeps
// only the heads the run can use.
func Weigh(res Result, rep protocol.FileReport) (Weight, error) {
	row, value, err := decide(res, rep)
	switch {
	case err != nil:
		return Weight{}, err
	case row.Reason == resultmaterialize.Inline || row.Reason == resultmaterialize.Truncated:
		return Weight{Cost: JSONLen(value), Candidate: true, Value: value}, nil
	case row.Reason == resultmaterialize.Reference && len(rep.Head) > 0:
		over, err := encode(res, rep.Head)
		return Weight{Cost: JSONLen(over), Unused: true}, err
	}
	return Weight{}, nil
}

// Compacts says whether a source may send a candidate's value in place
// of its head: a JSON array file's items, re-encoded compactly, make the
// very same value, and whitespace in the file then never crosses the
// wire.
func Compacts(res Result) bool {
	return res.Type == resultmaterialize.TypeArray && !res.Projected() && (res.Format == resultmaterialize.LayoutJSON || res.Format == "")
}

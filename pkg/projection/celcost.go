package projection

import (
	"math"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// celCosts charges the calls whose work CEL's runtime costs leave out on
// doc, whose values are all dyn: == and != by the values they may compare
// and the walk that counts them (CEL counts only the top level, so two
// lists that each hold one large list cost 1), and, when the operands'
// types are known only at run time, + by the bytes it copies, in by the
// items it may compare, and an ordering by the bytes it compares (CEL
// charges each 1). Other calls keep CEL's own costs.
type celCosts struct{}

// CallCost implements interpreter.ActualCostEstimator.
func (celCosts) CallCost(function, overload string, args []ref.Val, _ ref.Val) *uint64 {
	if len(args) != 2 {
		return nil
	}
	var cost uint64
	switch function {
	case operators.Equals, operators.NotEquals:
		cost = compared(args[0], args[1])
	case operators.Add:
		a, aText := textSize(args[0])
		b, bText := textSize(args[1])
		if overload != "" || !aText || !bText {
			return nil
		}
		cost = traversal(a + b)
	case operators.In:
		if overload != "" {
			return nil
		}
		if _, ok := args[1].(traits.Lister); !ok {
			return nil
		}
		cost = celSize(args[1], CostLimit+1)
	case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		a, aText := textSize(args[0])
		b, bText := textSize(args[1])
		if overload != "" || !aText || !bText {
			return nil
		}
		cost = traversal(min(a, b))
	default:
		return nil
	}
	return &cost
}

// compared is what comparing a and b visits at worst: the shorter string
// or bytes, nothing past the top level unless both are lists, or maps,
// of one size (CEL compares sizes first), else each value of a and as
// many of b, counted by celSize, which walks them.
func compared(a, b ref.Val) uint64 {
	as, aText := textSize(a)
	bs, bText := textSize(b)
	if aText && bText {
		return max(1, traversal(min(as, bs)))
	}
	_, aList := a.(traits.Lister)
	_, bList := b.(traits.Lister)
	_, aMap := a.(traits.Mapper)
	_, bMap := b.(traits.Mapper)
	sameKind := aList && bList || aMap && bMap
	if !sameKind || a.(traits.Sizer).Size() != b.(traits.Sizer).Size() {
		return 1
	}
	n := celSize(a, CostLimit+1)
	return n + celSize(b, n)
}

// traversal is CEL's cost of walking n bytes of a string.
func traversal(n uint64) uint64 {
	return uint64(math.Ceil(float64(n) * common.StringTraversalCostFactor))
}

// textSize is the length of a string or bytes value.
func textSize(v ref.Val) (uint64, bool) {
	switch t := v.(type) {
	case types.String:
		return uint64(len(t)), true
	case types.Bytes:
		return uint64(len(t)), true
	}
	return 0, false
}

// celSize counts the values v holds, itself included, each string or
// bytes value by its traversal: what comparing it visits at worst. It
// stops counting past most, so counting takes no longer than that.
func celSize(v ref.Val, most uint64) uint64 {
	switch t := v.(type) {
	case traits.Lister:
		n := uint64(1)
		for it := t.Iterator(); n <= most && it.HasNext() == types.True; {
			n += celSize(it.Next(), most-n)
		}
		return n
	case traits.Mapper:
		n := uint64(1)
		for it := t.Iterator(); n <= most && it.HasNext() == types.True; {
			k := it.Next()
			n += celSize(k, most-n)
			if n <= most {
				n += celSize(t.Get(k), most-n)
			}
		}
		return n
	}
	if size, ok := textSize(v); ok {
		return 1 + traversal(size)
	}
	return 1
}

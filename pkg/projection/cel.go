package projection

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// CostLimit bounds one expression's evaluation, in CEL cost units (about
// one per value visited): Kubernetes' limit per expression.
const CostLimit = 1_000_000

// Timeout bounds one expression's evaluation in time, whatever its cost;
// the caller's deadline, when sooner, bounds it too.
const Timeout = 10 * time.Second

// itemCost is what each list item or map entry of an expression's value
// takes from the render budget as it is converted, before rendering.
const itemCost = 16

// celEnv has doc and CEL's standard library: no I/O, and none of the
// extension functions (replace, join, repeat) whose results CEL charges
// only after building them.
var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("doc", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		panic(fmt.Sprintf("building the CEL environment: %v", err))
	}
	return env
}()

type celProgram struct {
	prog cel.Program
}

func compileCEL(expr string) (*celProgram, error) {
	ast, iss := celEnv.Compile(expr)
	if iss.Err() != nil {
		first, _, _ := strings.Cut(iss.Err().Error(), "\n ERROR:")
		return nil, fmt.Errorf("expression %q: %s", expr, first)
	}
	// A comprehension checks for the end of its context at every step: a
	// step can take a whole comparison of two large values.
	prog, err := celEnv.Program(ast, cel.CostLimit(CostLimit), cel.CostTracking(celCosts{}), cel.InterruptCheckFrequency(1))
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", expr, err)
	}
	return &celProgram{prog: prog}, nil
}

// eval computes the expression over doc, stopping when c ends or after
// Timeout, whichever comes first. No message quotes CEL's own error text:
// it can hold keys, values and regular expressions read from the document.
func (p *celProgram) eval(c clock, doc any, b *budget) (any, *Error) {
	ctx, cancel := context.WithTimeout(c.ctx, Timeout)
	defer cancel()
	out, _, err := p.prog.ContextEval(ctx, map[string]any{"doc": doc})
	var cancelled interpreter.EvalCancelledError
	switch {
	case err == nil:
		return native(out, b)
	case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
		return nil, fail(reasons.ProjectionCostExceeded, "went over the CEL cost limit of %d: it visits too much of the document", CostLimit)
	case errors.Is(err, interpreter.InterruptError{}) || errors.As(err, &cancelled):
		if e := c.expired(); e != nil {
			return nil, e
		}
		return nil, fail(reasons.ProjectionCostExceeded, "ran longer than the limit of %s per expression", Timeout)
	default:
		return nil, evalError(err)
	}
}

// native turns a CEL value into the document's own types, taking each
// item from the budget, so a list built lazily (by concatenation) cannot
// grow past it.
func native(v ref.Val, b *budget) (any, *Error) {
	switch t := v.(type) {
	case types.String:
		return string(t), nil
	case types.Int:
		return int64(t), nil
	case types.Uint:
		return uint64(t), nil
	case types.Double:
		return float64(t), nil
	case types.Bool:
		return bool(t), nil
	case types.Null:
		return nil, nil
	case traits.Mapper:
		out := map[string]any{}
		for it := t.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			key, ok := k.(types.String)
			if !ok {
				return nil, fail(reasons.ProjectionEvalFailed, "gives a map with a %s key, which JSON cannot hold", k.Type())
			}
			if err := b.take(itemCost); err != nil {
				return nil, err
			}
			e, err := native(t.Get(k), b)
			if err != nil {
				return nil, err
			}
			out[string(key)] = e
		}
		return out, nil
	case traits.Lister:
		out := []any{}
		for it := t.Iterator(); it.HasNext() == types.True; {
			if err := b.take(itemCost); err != nil {
				return nil, err
			}
			e, err := native(it.Next(), b)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	default:
		if cerr, ok := v.(*types.Err); ok {
			return nil, evalError(cerr)
		}
		return nil, fail(reasons.ProjectionEvalFailed, "gives a %s, which JSON cannot hold", v.Type())
	}
}

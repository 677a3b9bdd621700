package projection

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// CostLimit bounds one expression's evaluation, in CEL cost units (about
// one per value visited): enough to walk a list of a hundred thousand
// items several times, and about a second of CPU whatever the expression
// does.
const CostLimit = 1_000_000

// celEnv has doc, the standard library and string functions; no I/O.
var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("doc", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
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
		return nil, fmt.Errorf("expression %q: %v", expr, iss.Err())
	}
	prog, err := celEnv.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("expression %q: %v", expr, err)
	}
	return &celProgram{prog: prog}, nil
}

func (p *celProgram) eval(doc any) (any, *Error) {
	out, _, err := p.prog.Eval(map[string]any{"doc": doc})
	switch {
	case err != nil && strings.Contains(err.Error(), "cost limit exceeded"):
		return nil, fail(reasons.ProjectionCostExceeded, "went over the CEL cost limit of %d: it visits too much of the document", CostLimit)
	case err != nil && strings.HasPrefix(err.Error(), "no such key"):
		return nil, fail(reasons.ProjectionNoMatch, "matches nothing: %v", err)
	case err != nil:
		return nil, fail(reasons.ProjectionEvalFailed, "failed: %v", err)
	}
	v, cerr := native(out)
	if cerr != nil {
		return nil, fail(reasons.ProjectionEvalFailed, "gives %v", cerr)
	}
	return v, nil
}

// native turns a CEL value into the document's own types.
func native(v ref.Val) (any, error) {
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
				return nil, fmt.Errorf("a map with a %s key, which JSON cannot hold", k.Type())
			}
			e, err := native(t.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(key)] = e
		}
		return out, nil
	case traits.Lister:
		var out []any
		for it := t.Iterator(); it.HasNext() == types.True; {
			e, err := native(it.Next())
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	default:
		if err, ok := v.(*types.Err); ok {
			return nil, errors.New(err.String())
		}
		return nil, fmt.Errorf("a %s, which has no JSON form", v.Type())
	}
}

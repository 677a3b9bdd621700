package projection

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"k8s.io/client-go/util/jsonpath"
)

// MaxQueryLength bounds a jsonPath or an expression, in bytes.
const MaxQueryLength = 2048

// Query is one compiled projection.
type Query struct {
	spec protocol.Projection
	// path is set for a JSONPath template.
	path string
	// steps is set when the template is a simple field path that streams.
	steps []step
	// expr is set for a CEL expression.
	expr *celProgram
}

// Error is a projection that failed, with the reason the run ends with.
type Error struct {
	Reason  reasons.Reason
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(reason reasons.Reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Check reports a syntax error in a jsonPath or expression, or both set.
func Check(jsonPath, expression, format string) error {
	_, err := Compile(protocol.Projection{JSONPath: jsonPath, Expression: expression, Format: format})
	return err
}

// Compile parses a projection, so syntax errors are found before any
// file is read.
func Compile(p protocol.Projection) (*Query, error) {
	if p.Format != "" && p.Format != FormatJSON && p.Format != FormatYAML {
		return nil, fmt.Errorf("format %q is not %q or %q", p.Format, FormatJSON, FormatYAML)
	}
	switch {
	case p.JSONPath != "" && p.Expression != "":
		return nil, errors.New("set jsonPath or expression, not both")
	case len(p.JSONPath) > MaxQueryLength || len(p.Expression) > MaxQueryLength:
		return nil, fmt.Errorf("a jsonPath or expression is at most %d bytes", MaxQueryLength)
	case p.JSONPath != "":
		parser, err := jsonpath.Parse("jsonPath", p.JSONPath)
		if err != nil {
			return nil, fmt.Errorf("jsonPath %q: %v", p.JSONPath, err)
		}
		q := &Query{spec: p, path: p.JSONPath}
		if p.Format != FormatYAML {
			q.steps = simple(parser)
		}
		return q, nil
	case p.Expression != "":
		prog, err := compileCEL(p.Expression)
		if err != nil {
			return nil, err
		}
		return &Query{spec: p, expr: prog}, nil
	default:
		return nil, errors.New("a projection needs a jsonPath or an expression")
	}
}

// Streams reports whether the query reads the file in one streaming pass
// instead of parsing it whole.
func (q *Query) Streams() bool { return q.steps != nil }

// eval computes the query over a parsed document.
func (q *Query) eval(doc any) (string, *Error) {
	var values []any
	if q.expr != nil {
		v, err := q.expr.eval(doc)
		if err != nil {
			return "", err
		}
		values = []any{v}
	} else {
		nodes, err := q.find(doc)
		if err != nil {
			return "", err
		}
		if !q.spec.Array {
			return text(nodes)
		}
		for _, node := range nodes {
			values = append(values, node...)
		}
	}
	return q.output(values)
}

// find evaluates the JSONPath as kubectl does, with missing keys allowed:
// the values of each template node, in order. A template that selects
// nothing is a no-match.
func (q *Query) find(doc any) ([][]any, *Error) {
	jp := jsonpath.New("jsonPath").AllowMissingKeys(true)
	if err := jp.Parse(q.path); err != nil {
		return nil, fail(reasons.InvalidSpec, "jsonPath %q: %v", q.path, err)
	}
	nodes, err := jp.FindResults(doc)
	if err != nil {
		return nil, fail(reasons.ProjectionNoMatch, "matches nothing: %v", err)
	}
	found := make([][]any, len(nodes))
	count := 0
	for i, node := range nodes {
		for _, v := range node {
			found[i] = append(found[i], value(v))
		}
		count += len(node)
	}
	if count == 0 {
		return nil, fail(reasons.ProjectionNoMatch, "matches nothing")
	}
	return found, nil
}

func value(v reflect.Value) any {
	if !v.IsValid() || (v.Kind() == reflect.Interface && v.IsNil()) {
		return nil
	}
	return v.Interface()
}

// text joins the values of a string result as kubectl prints them: the
// values of one template node separated by a space, the nodes one after
// another.
func text(nodes [][]any) (string, *Error) {
	var out strings.Builder
	for _, node := range nodes {
		for i, v := range node {
			s, err := render(v)
			if err != nil {
				return "", fail(reasons.ProjectionEvalFailed, "%v", err)
			}
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(s)
		}
	}
	return out.String(), nil
}

func (q *Query) output(values []any) (string, *Error) {
	var s string
	var err error
	if q.spec.Array {
		s, err = renderArray(values)
	} else {
		s, err = render(values[0])
	}
	if err != nil {
		return "", fail(reasons.ProjectionEvalFailed, "%v", err)
	}
	return s, nil
}

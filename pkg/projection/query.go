package projection

import (
	"errors"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"reflect"
	"strings"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"k8s.io/client-go/util/jsonpath"
)

// Query is one compiled projection.
type Query struct {
	spec protocol.Projection
	// jp is set for a JSONPath template, parsed for evaluation; a Query
	// is evaluated once.
	jp *jsonpath.JSONPath
	// steps is set when the template is a simple field path that streams.
	steps []step
	// expr is set for a CEL expression.
	expr *celProgram
	// spread counts the template's wildcards, slices, filters and unions:
	// each can give a value per byte of the document (kubectl's evaluator
	// walks strings byte by byte), all built before any is rendered.
	spread int
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
func Check(jsonPath, expression string, format resultmaterialize.Format) error {
	_, err := Compile(protocol.Projection{JSONPath: jsonPath, Expression: expression, Format: format})
	return err
}

// Compile parses a projection, so syntax errors are found before any
// file is read.
func Compile(p protocol.Projection) (*Query, error) {
	if p.Format != "" && p.Format != resultmaterialize.SyntaxJSON && p.Format != resultmaterialize.SyntaxYAML {
		return nil, fmt.Errorf("format %q is not %q or %q", p.Format, resultmaterialize.SyntaxJSON, resultmaterialize.SyntaxYAML)
	}
	switch {
	case p.JSONPath != "" && p.Expression != "":
		return nil, errors.New("set jsonPath or expression, not both")
	case len(p.JSONPath) > resultmaterialize.MaxQueryLength || len(p.Expression) > resultmaterialize.MaxQueryLength:
		return nil, fmt.Errorf("a jsonPath or expression is at most %d bytes", resultmaterialize.MaxQueryLength)
	case p.JSONPath != "":
		parser, err := jsonpath.Parse("jsonPath", p.JSONPath)
		if err != nil {
			return nil, fmt.Errorf("jsonPath %q: %w", p.JSONPath, err)
		}
		spread, err := checkTemplate(parser.Root)
		if err != nil {
			return nil, fmt.Errorf("jsonPath %q: %w", p.JSONPath, err)
		}
		jp := jsonpath.New("jsonPath").AllowMissingKeys(true)
		if err := jp.Parse(p.JSONPath); err != nil {
			return nil, fmt.Errorf("jsonPath %q: %w", p.JSONPath, err)
		}
		q := &Query{spec: p, jp: jp, spread: spread}
		if p.Format != resultmaterialize.SyntaxYAML {
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

// checkTemplate refuses what kubectl's parser accepts but only fails,
// or silently gives a constant, at evaluation: an identifier other than
// range and end ({accuracy} for {.accuracy}), a step of 0, and a template
// that reads nothing from the document; and recursive descent, whose
// evaluation copies every subtree at every level, unbounded. It returns
// the template's spread.
func checkTemplate(root *jsonpath.ListNode) (int, error) {
	var spread, reads int
	var walk func(n jsonpath.Node) error
	walk = func(n jsonpath.Node) error {
		switch n := n.(type) {
		case *jsonpath.ListNode:
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *jsonpath.IdentifierNode:
			if n.Name != "range" && n.Name != "end" {
				return fmt.Errorf("%q is not a field: write {.%s}", n.Name, n.Name)
			}
		case *jsonpath.ArrayNode:
			reads++
			if n.Params[2].Known && n.Params[2].Value <= 0 {
				return errors.New("an array step must be above 0")
			}
			if !n.Params[0].Known || !n.Params[1].Derived || n.Params[2].Known {
				spread++
			}
		case *jsonpath.RecursiveNode:
			return errors.New("recursive descent (..) is not supported: its evaluation is unbounded; name the path, or use a filter")
		case *jsonpath.FilterNode:
			reads++
			spread++
			if err := walk(n.Left); err != nil {
				return err
			}
			return walk(n.Right)
		case *jsonpath.UnionNode:
			reads++
			spread++
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *jsonpath.WildcardNode:
			reads++
			spread++
		case *jsonpath.FieldNode:
			reads++
		}
		return nil
	}
	if err := walk(root); err != nil {
		return 0, err
	}
	if reads == 0 {
		return 0, errors.New("reads nothing from the document: write a path in braces, such as {.accuracy}")
	}
	return spread, nil
}

// Streams reports whether the query reads the file in one streaming pass
// instead of parsing it whole.
func (q *Query) Streams() bool { return q.steps != nil }

// limit is the largest file the query parses whole: a quarter of limit for
// YAML, which takes about four times the memory of JSON.
func (q *Query) limit(limit int64) int64 {
	if q.spec.Format == resultmaterialize.SyntaxYAML {
		return limit / YAMLShare
	}
	return limit
}

// eval computes the query over a parsed document. A JSONPath cannot be
// interrupted: what it builds is bounded by its spread (see fits), and
// the time that takes with it.
func (q *Query) eval(c clock, doc any, b *budget) (string, *Error) {
	if q.expr != nil {
		v, err := q.expr.eval(c, doc, b)
		if err != nil {
			return "", err
		}
		return q.output([]any{v}, b)
	}
	nodes, err := q.find(doc)
	if err != nil {
		return "", err
	}
	if !q.spec.Array {
		return text(nodes, b)
	}
	var values []any
	for _, node := range nodes {
		values = append(values, node...)
	}
	return q.output(values, b)
}

// find evaluates the JSONPath as kubectl does, with missing keys allowed:
// the values of each template node, in order. A template that selects
// nothing is a no-match. The library's own error messages can quote the
// document, so none is passed on.
func (q *Query) find(doc any) ([][]any, *Error) {
	nodes, err := q.jp.FindResults(doc)
	switch {
	case err != nil && (strings.Contains(err.Error(), "array index out of bounds") || strings.Contains(err.Error(), "is not array or slice")):
		return nil, fail(reasons.ProjectionNoMatch, "matches nothing: an index is past the end of a list, or applied to something else")
	case err != nil:
		return nil, fail(reasons.ProjectionEvalFailed, "cannot be evaluated on this document: a filter, range or step met a value of another type")
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
func text(nodes [][]any, b *budget) (string, *Error) {
	var out strings.Builder
	for _, node := range nodes {
		for i, v := range node {
			s, err := render(v, b)
			if err != nil {
				return "", err
			}
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(s)
		}
	}
	return out.String(), nil
}

func (q *Query) output(values []any, b *budget) (string, *Error) {
	if q.spec.Array {
		return renderArray(values, b)
	}
	return render(values[0], b)
}

// format is the query's document format, JSON unless it says YAML.
func (q *Query) format() resultmaterialize.Format {
	if q.spec.Format == "" {
		return resultmaterialize.SyntaxJSON
	}
	return q.spec.Format
}

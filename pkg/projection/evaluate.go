package projection

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// YAMLShare divides max-projection-bytes for a YAML document: parsing YAML
// takes about four times the memory of parsing the same JSON.
const YAMLShare = 4

// Result is one query's outcome: its value, or why it failed.
type Result struct {
	Value string
	Err   *Error
}

// Evaluate computes every query over one file read from r, reading it at
// most once. size is the file's size when opened; limit bounds a document
// parsed whole, and everything the queries render together. Simple paths
// stream, from the file or from the copy a whole parse read. When ctx
// ends, reading, parsing and CEL stop, and every query not yet answered
// fails with reason ProjectionCostExceeded. Only a failure to read is
// returned as an error; every other failure is its query's Result.
func Evaluate(ctx context.Context, r io.Reader, size int64, queries []*Query, limit int64) ([]Result, error) {
	out := make([]Result, len(queries))
	b := newBudget(limit)
	c := newClock(ctx)
	r = c.reader(r)
	var streamed, whole []int
	for i, q := range queries {
		switch {
		case q.Streams():
			streamed = append(streamed, i)
		case size > q.limit(limit):
			out[i].Err = tooLarge(q, size, limit)
		default:
			whole = append(whole, i)
		}
	}
	if len(whole) > 0 {
		raw, err := io.ReadAll(io.LimitReader(r, limit+1))
		if e := c.expired(); err != nil && e != nil {
			for _, i := range append(whole, streamed...) {
				out[i].Err = e
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if int64(len(raw)) > limit {
			for i := range out {
				out[i].Err = fail(reasons.ProjectionTooLarge, "grew above max-projection-bytes of %d while being read", limit)
			}
			return out, nil
		}
		parseWhole(c, raw, queries, whole, limit, b, out)
		r = c.reader(bytes.NewReader(raw))
	}
	if len(streamed) > 0 {
		if err := stream(c, r, size, queries, streamed, limit, b, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func tooLarge(q *Query, size, limit int64) *Error {
	what := fmt.Sprintf("max-projection-bytes of %d", limit)
	if q.spec.Format == resultmaterialize.SyntaxYAML {
		what = fmt.Sprintf("%d, the 1/%d of max-projection-bytes a YAML document may use", limit/YAMLShare, YAMLShare)
	}
	return fail(reasons.ProjectionTooLarge,
		"is %d bytes, above %s, for a projection that parses the whole document; a simple field path such as {.a.b} or {.items[3].name} streams a JSON file of any size",
		size, what)
}

// stream answers the simple paths in one pass.
func stream(c clock, r io.Reader, size int64, queries []*Query, streamed []int, limit int64, b *budget, out []Result) error {
	paths := make([][]step, len(streamed))
	for k, i := range streamed {
		paths[k] = queries[i].steps
	}
	raw, over, err := streamPaths(r, size, paths, limit)
	if e := c.expired(); err != nil && e != nil {
		err = e
	}
	var perr *Error
	switch {
	case errors.As(err, &perr):
		for _, i := range streamed {
			out[i].Err = perr
		}
		return nil
	case err != nil:
		return err
	}
	for k, i := range streamed {
		switch {
		case over[k]:
			out[i].Err = fail(reasons.ProjectionTooLarge, "selects values above max-projection-bytes of %d", limit)
		case raw[k] == nil:
			out[i].Err = fail(reasons.ProjectionNoMatch, "matches nothing")
		default:
			if need, ok := fits(parseCost(resultmaterialize.SyntaxJSON, raw[k], 0), int64(len(raw[k])), limit, 0); !ok {
				out[i].Err = tooMuchMemory(need, limit)
				continue
			}
			v, err := parseJSON(c, raw[k])
			if e := c.expired(); err != nil && e != nil {
				out[i].Err = e
				continue
			}
			if err != nil {
				out[i].Err = fail(reasons.ProjectionInvalidDocument, "%v", err)
				continue
			}
			out[i].Value, out[i].Err = output(b, func() (string, *Error) { return queries[i].output([]any{v}, b) })
		}
	}
	return nil
}

// parseWhole parses the document once per format the queries ask for,
// after checking it fits in memory, and evaluates each query on it. One
// format's document is dropped before the next is parsed.
func parseWhole(c clock, raw []byte, queries []*Query, whole []int, limit int64, b *budget, out []Result) {
	byFormat := map[resultmaterialize.Format][]int{}
	var formats []resultmaterialize.Format
	for _, i := range whole {
		format := queries[i].format()
		if byFormat[format] == nil {
			formats = append(formats, format)
		}
		byFormat[format] = append(byFormat[format], i)
	}
	for _, format := range formats {
		asked := byFormat[format]
		doc, cost, err := parse(c, format, raw, limit)
		for _, i := range asked {
			if e := c.expired(); e != nil {
				err = e
			}
			if err != nil {
				out[i].Err = err
				continue
			}
			q := queries[i]
			if need, ok := fits(cost, int64(len(raw)), limit, q.spread); !ok {
				out[i].Err = tooMuchMemory(need, limit)
				continue
			}
			out[i].Value, out[i].Err = output(b, func() (string, *Error) { return q.eval(c, doc, b) })
		}
	}
}

// output runs one query's rendering; a query that fails gives back what
// it took from the budget, so it does not fail the others.
func output(b *budget, render func() (string, *Error)) (string, *Error) {
	left := b.left
	v, err := render()
	if err != nil {
		b.left = left
	}
	return v, err
}

// parse decodes raw in format if its estimated memory fits, counting for
// YAML every node its aliases expand to before decoding them, and returns
// the document with that estimate.
func parse(c clock, format resultmaterialize.Format, raw []byte, limit int64) (any, int64, *Error) {
	size := int64(len(raw))
	cost := parseCost(format, raw, 0)
	if need, ok := fits(cost, size, limit, 0); !ok {
		return nil, 0, tooMuchMemory(need, limit)
	}
	if format != resultmaterialize.SyntaxYAML {
		doc, err := parseJSON(c, raw)
		if err != nil {
			return nil, 0, fail(reasons.ProjectionInvalidDocument, "%v", err)
		}
		return doc, cost, nil
	}
	node, err := parseYAML(c, raw)
	if err != nil {
		return nil, 0, fail(reasons.ProjectionInvalidDocument, "%v", err)
	}
	built, err := expansion(node)
	if err != nil {
		return nil, 0, fail(reasons.ProjectionInvalidDocument, "%v", err)
	}
	cost = parseCost(format, raw, built)
	if need, ok := fits(cost, size, limit, 0); !ok {
		return nil, 0, tooMuchMemory(need, limit)
	}
	doc, err := decodeYAML(node)
	if err != nil {
		return nil, 0, fail(reasons.ProjectionInvalidDocument, "%v", err)
	}
	return doc, cost, nil
}

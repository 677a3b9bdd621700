package projection

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// YAMLShare divides max-projection-bytes for a YAML document: parsing YAML
// takes about four times the memory of parsing the same JSON.
const YAMLShare = 4

// MemoryFactor is how many times max-projection-bytes the reader pod's
// memory limit is when its plan has a projection: a whole parse may use
// ten times (see fits), the rest is the Go runtime's headroom.
const MemoryFactor = 12

// Result is one query's outcome: its value, or why it failed.
type Result struct {
	Value string
	Err   *Error
}

// Evaluate computes every query over one file read from r, reading it at
// most once. size is the file's size when opened; limit bounds a document
// parsed whole, and everything the queries render together. Simple paths
// stream, from the file or from the copy a whole parse read. Only a
// failure to read is returned as an error; every other failure is its
// query's Result.
func Evaluate(r io.Reader, size int64, queries []*Query, limit int64) ([]Result, error) {
	out := make([]Result, len(queries))
	b := newBudget(limit)
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
		if err != nil {
			return nil, err
		}
		if int64(len(raw)) > limit {
			for i := range out {
				out[i].Err = fail(reasons.ProjectionTooLarge, "grew above max-projection-bytes of %d while being read", limit)
			}
			return out, nil
		}
		parseWhole(raw, queries, whole, limit, b, out)
		r = bytes.NewReader(raw)
	}
	if len(streamed) > 0 {
		if err := stream(r, queries, streamed, limit, b, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func tooLarge(q *Query, size, limit int64) *Error {
	what := fmt.Sprintf("max-projection-bytes of %d", limit)
	if q.spec.Format == FormatYAML {
		what = fmt.Sprintf("%d, the 1/%d of max-projection-bytes a YAML document may use", limit/YAMLShare, YAMLShare)
	}
	return fail(reasons.ProjectionTooLarge,
		"is %d bytes, above %s, for a projection that parses the whole document; a simple field path such as {.a.b} or {.items[3].name} streams a JSON file of any size",
		size, what)
}

// stream answers the simple paths in one pass.
func stream(r io.Reader, queries []*Query, streamed []int, limit int64, b *budget, out []Result) error {
	paths := make([][]step, len(streamed))
	for k, i := range streamed {
		paths[k] = queries[i].steps
	}
	raw, over, err := streamPaths(r, paths, limit)
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
			if need, ok := fits(parseCost(FormatJSON, raw[k]), int64(len(raw[k])), limit, 0); !ok {
				out[i].Err = tooMuchMemory(need, limit)
				continue
			}
			v, err := parseJSON(raw[k])
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
// after checking it fits in memory, and evaluates each query on it.
func parseWhole(raw []byte, queries []*Query, whole []int, limit int64, b *budget, out []Result) {
	docs := map[string]any{}
	costs := map[string]int64{}
	errs := map[string]*Error{}
	size := int64(len(raw))
	for _, i := range whole {
		q := queries[i]
		format := q.spec.Format
		if format == "" {
			format = FormatJSON
		}
		if _, done := costs[format]; !done {
			costs[format] = parseCost(format, raw)
			if need, ok := fits(costs[format], size, limit, 0); !ok {
				errs[format] = tooMuchMemory(need, limit)
			} else if doc, err := parse(format, raw); err != nil {
				errs[format] = fail(reasons.ProjectionInvalidDocument, "%v", err)
			} else {
				docs[format] = doc
			}
		}
		if errs[format] != nil {
			out[i].Err = errs[format]
			continue
		}
		if need, ok := fits(costs[format], size, limit, q.spread); !ok {
			out[i].Err = tooMuchMemory(need, limit)
			continue
		}
		out[i].Value, out[i].Err = output(b, func() (string, *Error) { return q.eval(docs[format], b) })
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

func tooMuchMemory(need, limit int64) *Error {
	return fail(reasons.ProjectionTooLarge,
		"would take about %d bytes of memory to parse and evaluate, above the %d that max-projection-bytes of %d allows; a simple field path such as {.a.b} streams a JSON file of any size",
		need, memoryFactor*limit, limit)
}

func parse(format string, raw []byte) (any, error) {
	if format == FormatYAML {
		return parseYAML(raw)
	}
	return parseJSON(raw)
}

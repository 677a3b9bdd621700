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

// MemoryFactor is how many times max-projection-bytes the reader's memory
// limit must be: a JSON document parsed whole peaks at about 8.5 times its
// size, a YAML one at a quarter of the limit about 11 times the limit.
const MemoryFactor = 12

// Result is one query's outcome: its value, or why it failed.
type Result struct {
	Value string
	Err   *Error
}

// Evaluate computes every query over one file read from r, reading it at
// most once. size is the file's size when opened; max bounds a document
// parsed whole and any one streamed value. Only a failure to read is
// returned as an error; every other failure is its query's Result.
func Evaluate(r io.Reader, size int64, queries []*Query, max int64) ([]Result, error) {
	out := make([]Result, len(queries))
	var streamed, whole []int
	wholeMax, limit := max, fmt.Sprintf("max-projection-bytes of %d", max)
	for i, q := range queries {
		if q.Streams() {
			streamed = append(streamed, i)
			continue
		}
		whole = append(whole, i)
		if q.spec.Format == FormatYAML {
			wholeMax, limit = max/YAMLShare, fmt.Sprintf("%d, the 1/%d of max-projection-bytes a YAML document may use", max/YAMLShare, YAMLShare)
		}
	}
	if len(whole) > 0 && size <= wholeMax {
		return out, parseWhole(r, queries, wholeMax, out)
	}
	for _, i := range whole {
		out[i].Err = fail(reasons.ProjectionTooLarge,
			"is %d bytes, above %s, for a projection that parses the whole document; a simple field path such as {.a.b} or {.items[3].name} streams a JSON file of any size",
			size, limit)
	}
	if len(streamed) == 0 {
		return out, nil
	}
	paths := make([][]step, len(streamed))
	for k, i := range streamed {
		paths[k] = queries[i].steps
	}
	raw, over, err := streamPaths(r, paths, max)
	var perr *Error
	switch {
	case errors.As(err, &perr):
		for _, i := range streamed {
			out[i].Err = perr
		}
		return out, nil
	case err != nil:
		return nil, err
	}
	for k, i := range streamed {
		q := queries[i]
		switch {
		case over[k]:
			out[i].Err = fail(reasons.ProjectionTooLarge, "selects a value above max-projection-bytes of %d", max)
		case raw[k] == nil:
			out[i].Err = fail(reasons.ProjectionNoMatch, "matches nothing")
		default:
			out[i] = rawResult(q, raw[k])
		}
	}
	return out, nil
}

func rawResult(q *Query, raw []byte) Result {
	v, err := parseJSON(raw)
	if err != nil {
		return Result{Err: fail(reasons.ProjectionInvalidDocument, "%v", err)}
	}
	value, perr := q.output([]any{v})
	return Result{Value: value, Err: perr}
}

// parseWhole reads the document into memory once, parses it once per
// format the queries ask for, and evaluates every query on it.
func parseWhole(r io.Reader, queries []*Query, max int64, out []Result) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return err
	}
	if int64(buf.Len()) > max {
		for i := range out {
			out[i].Err = fail(reasons.ProjectionTooLarge, "grew above max-projection-bytes of %d while being read", max)
		}
		return nil
	}
	docs := map[string]any{}
	errs := map[string]*Error{}
	for i, q := range queries {
		format := q.spec.Format
		if format == "" {
			format = FormatJSON
		}
		if _, done := docs[format]; !done && errs[format] == nil {
			doc, err := parse(format, buf.Bytes())
			if err != nil {
				errs[format] = fail(reasons.ProjectionInvalidDocument, "%v", err)
			} else {
				docs[format] = doc
			}
		}
		if errs[format] != nil {
			out[i].Err = errs[format]
			continue
		}
		out[i].Value, out[i].Err = q.eval(docs[format])
	}
	return nil
}

func parse(format string, raw []byte) (any, error) {
	if format == FormatYAML {
		return parseYAML(raw)
	}
	return parseJSON(raw)
}

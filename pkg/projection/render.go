package projection

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// budget bounds the bytes the queries on one file may render, together:
// no value (a YAML list of aliases, a recursive JSONPath, a CEL list built
// by concatenation) grows past max-projection-bytes, in memory or in time.
type budget struct {
	left, limit int64
}

func newBudget(limit int64) *budget { return &budget{left: limit, limit: limit} }

func (b *budget) take(n int) *Error {
	if int64(n) > b.left {
		return fail(reasons.ProjectionTooLarge, "gives a value above max-projection-bytes of %d", b.limit)
	}
	b.left -= int64(n)
	return nil
}

// render is the output rule for one value: a string is its text, a number
// or boolean its JSON literal, null "null", an object or array compact
// JSON with sorted keys.
func render(v any, b *budget) (string, *Error) {
	if s, ok := v.(string); ok {
		return s, b.take(len(s))
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, v, b); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// writeJSON writes v as compact JSON, taking every byte from the budget
// before writing it.
func writeJSON(buf *bytes.Buffer, v any, b *budget) *Error {
	switch t := v.(type) {
	case nil:
		return put(buf, b, "null")
	case bool:
		return put(buf, b, strconv.FormatBool(t))
	case int64:
		return put(buf, b, strconv.FormatInt(t, 10))
	case uint64:
		return put(buf, b, strconv.FormatUint(t, 10))
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return fail(reasons.ProjectionEvalFailed, "gives %v, which JSON cannot hold", t)
		}
		raw, _ := json.Marshal(t)
		return put(buf, b, string(raw))
	case string:
		// Escaping can make a string 6 times longer: take what is
		// written, not what was read. The string itself is within the
		// document, so encoding it first is bounded.
		var s bytes.Buffer
		enc := json.NewEncoder(&s)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(t)
		encoded := bytes.TrimSuffix(s.Bytes(), []byte("\n"))
		if err := b.take(len(encoded)); err != nil {
			return err
		}
		buf.Write(encoded)
		return nil
	case []any:
		return writeList(buf, t, b)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if err := put(buf, b, "{"); err != nil {
			return err
		}
		for i, k := range keys {
			if i > 0 {
				if err := put(buf, b, ","); err != nil {
					return err
				}
			}
			if err := writeJSON(buf, k, b); err != nil {
				return err
			}
			if err := put(buf, b, ":"); err != nil {
				return err
			}
			if err := writeJSON(buf, t[k], b); err != nil {
				return err
			}
		}
		return put(buf, b, "}")
	default:
		return fail(reasons.ProjectionEvalFailed, "gives a %T, which JSON cannot hold", v)
	}
}

func writeList(buf *bytes.Buffer, list []any, b *budget) *Error {
	if err := put(buf, b, "["); err != nil {
		return err
	}
	for i, e := range list {
		if i > 0 {
			if err := put(buf, b, ","); err != nil {
				return err
			}
		}
		if err := writeJSON(buf, e, b); err != nil {
			return err
		}
	}
	return put(buf, b, "]")
}

func put(buf *bytes.Buffer, b *budget, s string) *Error {
	if err := b.take(len(s)); err != nil {
		return err
	}
	buf.WriteString(s)
	return nil
}

// renderArray is the output rule for type: array: a single value that is
// a list gives its items, any other values are one item each; every item
// is rendered as above, and the list is compact JSON of strings.
func renderArray(values []any, b *budget) (string, *Error) {
	if len(values) == 1 {
		if list, ok := values[0].([]any); ok {
			values = list
		}
	}
	items := make([]any, len(values))
	for i, v := range values {
		s, err := render(v, b)
		if err != nil {
			return "", err
		}
		items[i] = s
	}
	var buf bytes.Buffer
	if err := writeList(&buf, items, b); err != nil {
		return "", err
	}
	return buf.String(), nil
}

package projection

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// render is the output rule for one value: a string is its text, a number
// or boolean its JSON literal, null "null", an object or array compact
// JSON with sorted keys.
func render(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return "", fmt.Errorf("the value %v has no JSON form", t)
		}
		return compact(t)
	default:
		return compact(t)
	}
}

func compact(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("the value has no JSON form: %v", err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// renderArray is the output rule for type: array: a single value that is
// a list gives its items, any other values are one item each; every item
// is rendered as above, and the list is compact JSON of strings.
func renderArray(values []any) (string, error) {
	if len(values) == 1 {
		if list, ok := values[0].([]any); ok {
			values = list
		}
	}
	items := make([]string, len(values))
	for i, v := range values {
		s, err := render(v)
		if err != nil {
			return "", err
		}
		items[i] = s
	}
	return compact(items)
}

package projection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// Formats of a projected file.
const (
	FormatJSON = "json"
	FormatYAML = "yaml"
)

// parseJSON decodes one JSON document into maps, slices, strings, bools,
// nil, int64 for integers that fit and float64 for other numbers: the
// types kubectl's JSONPath sees on unstructured objects.
func parseJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonSyntax(err, raw)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("has data after its JSON document at byte offset %d", dec.InputOffset())
	}
	return numbers(doc), nil
}

func jsonSyntax(err error, raw []byte) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bad byte itself.
		return fmt.Errorf("is not valid JSON: %v at byte offset %d", se, max(se.Offset-1, 0))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("is not valid JSON: unexpected end at byte offset %d", len(raw))
	}
	return fmt.Errorf("is not valid JSON: %v", err)
}

// numbers replaces every json.Number in v, in place where it can.
func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		return number(t)
	case map[string]any:
		for k, e := range t {
			t[k] = numbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbers(e)
		}
	}
	return v
}

func number(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	// A number too large for float64 becomes ±Inf, which render refuses.
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// parseYAML decodes exactly one YAML document into the same types as
// parseJSON, by way of its JSON form, so both formats project alike.
func parseYAML(raw []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("is not a YAML document: it is empty")
		}
		return nil, fmt.Errorf("is not valid YAML: %v", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("holds more than one YAML document: split it, or project one file per document")
	}
	asJSON, err := jsonCompatible(doc, "")
	if err != nil {
		return nil, fmt.Errorf("is not JSON-compatible YAML: %v", err)
	}
	raw, err = json.Marshal(asJSON)
	if err != nil {
		return nil, fmt.Errorf("is not JSON-compatible YAML: %v", err)
	}
	return parseJSON(raw)
}

// jsonCompatible turns YAML's map[any]any into map[string]any, refusing
// keys that are not scalars.
func jsonCompatible(v any, at string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonCompatible(e, at+"."+k)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			switch k.(type) {
			case string, int, int64, uint64, float64, bool:
			default:
				return nil, fmt.Errorf("key %v at %q is not a scalar", k, at)
			}
			key := fmt.Sprint(k)
			c, err := jsonCompatible(e, at+"."+key)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
		return out, nil
	case []any:
		for i, e := range t {
			c, err := jsonCompatible(e, fmt.Sprintf("%s[%d]", at, i))
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("%v at %q has no JSON form", t, at)
		}
	}
	return v, nil
}

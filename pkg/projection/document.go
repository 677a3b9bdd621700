package projection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// parseJSON decodes one JSON document into maps, slices, strings, bools,
// nil, int64 or uint64 for integers that fit and float64 for other
// numbers: the types kubectl's JSONPath sees on unstructured objects.
func parseJSON(c clock, raw []byte) (any, error) {
	dec := json.NewDecoder(c.reader(bytes.NewReader(raw)))
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
		return fmt.Errorf("is not valid JSON: %s at byte offset %d", se.Error(), max(se.Offset-1, 0))
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("is not valid JSON: unexpected end at byte offset %d", len(raw))
	}
	return fmt.Errorf("is not valid JSON: %w", err)
}

// numbers replaces every json.Number in v, in place where it can.
func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		return number(string(t))
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

func number(n string) any {
	if i, err := strconv.ParseInt(n, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(n, 10, 64); err == nil {
		return u
	}
	// A number too large for float64 becomes ±Inf, which render refuses.
	f, _ := strconv.ParseFloat(n, 64)
	return f
}

// quoted matches what the YAML parser quotes of the document in its
// errors (an anchor's name, a tag, a character), which a message must
// not carry: a key or a value can be secret.
var quoted = regexp.MustCompile("(['\"`])[^'\"`]*(?:['\"`])")

// parseYAML parses exactly one YAML document into its node tree, which
// holds each alias once, unexpanded, so what decoding it will build can
// be counted first (see expansion).
func parseYAML(c clock, raw []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(c.reader(bytes.NewReader(raw)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("is not a YAML document: it is empty")
		}
		return nil, fmt.Errorf("is not valid YAML: %s", quoted.ReplaceAllString(err.Error(), "$1...$1"))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document: split it, or project one file per document")
	}
	return &doc, nil
}

// decodeYAML decodes a parsed document into the same types as parseJSON,
// so both formats project alike, expanding each alias again.
func decodeYAML(doc *yaml.Node) (any, error) {
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, fmt.Errorf("is not valid YAML: %s", yamlDecodeError(err))
	}
	out, err := jsonCompatible(v)
	if err != nil {
		return nil, fmt.Errorf("is not JSON-compatible YAML: %w", err)
	}
	return out, nil
}

// yamlDecodeErrors words the decoder's errors by their kind: its own
// messages quote the key or value at fault.
var yamlDecodeErrors = []struct{ has, kind string }{
	{"invalid map key", "a key is a list or a map"},
	{"already defined", "a map holds one key twice"},
	{"cannot decode", "a value does not match its tag"},
	{"cannot unmarshal", "a value does not match its tag"},
	{"base64", "a !!binary value is not base64"},
	{"map merge", "a merge key (<<) merges something other than a map or a list of maps"},
	{"excessive aliasing", "it expands aliases too many times"},
}

func yamlDecodeError(err error) string {
	for _, e := range yamlDecodeErrors {
		if strings.Contains(err.Error(), e.has) {
			return e.kind
		}
	}
	return "a value cannot be decoded (the YAML library's message is not shown: it can quote the document)"
}

// jsonCompatible turns YAML's decoded values into parseJSON's types,
// refusing keys that are not scalars or that collide once written as
// JSON strings (1 and 1.0), and values JSON cannot hold. Its errors name
// no key: a key can be as secret as a value.
func jsonCompatible(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonCompatible(e)
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
				return nil, fmt.Errorf("a key is a %T, not a string, number or boolean", k)
			}
			key := fmt.Sprint(k)
			if _, dup := out[key]; dup {
				return nil, errors.New("two keys are the same once written as JSON strings, such as 1 and 1.0")
			}
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
		return out, nil
	case []any:
		for i, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	case int:
		return int64(t), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("a value is %v, which JSON cannot hold", t)
		}
		return t, nil
	case time.Time:
		return t.Format(time.RFC3339Nano), nil
	case nil, string, bool, int64, uint64:
		return t, nil
	default:
		return nil, fmt.Errorf("a value is a %T, which JSON cannot hold", v)
	}
}

package materialize

import (
	"encoding/json"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// arrayValue turns an array result's file into the compact JSON list
// Tekton reads as an array param. Tekton reads an empty list as the
// string "[]", so a list must have at least one item.
func arrayValue(res Result, s string) (string, error) {
	items, err := ParseArray(res.Format, s)
	if err != nil {
		return "", outcome.Fail(reasons.ResultInvalidArray, "result %q: file %q: %v", res.Name, res.Path, err)
	}
	raw, err := json.Marshal(items)
	if err != nil {
		return "", outcome.Fail(reasons.ResultInvalidArray, "result %q: encoding its items: %v", res.Name, err)
	}
	return string(raw), nil
}

// projectedArray surfaces a projected array as the projection wrote it,
// a JSON array of strings, so its -size and -sha256, computed where the
// projection ran, describe the very bytes surfaced.
func projectedArray(res Result, s string) (string, error) {
	if _, err := ParseArray(resultmaterialize.LayoutJSON, s); err != nil {
		return "", outcome.Fail(reasons.ResultInvalidArray, "result %q: the %s of file %q %v", res.Name, res.query(), res.Path, err)
	}
	return s, nil
}

// ParseArray reads the items of an array written in format.
func ParseArray(format resultmaterialize.Format, s string) ([]string, error) {
	var items []string
	switch format {
	case resultmaterialize.LayoutJSON, "":
		dec := json.NewDecoder(strings.NewReader(s))
		if err := dec.Decode(&items); err != nil {
			return nil, fmt.Errorf("is not a JSON array of strings (%w); write one, or set format: lines for one item per line", err)
		}
		if dec.More() {
			return nil, fmt.Errorf("has data after its JSON array")
		}
	case resultmaterialize.LayoutLines:
		s = strings.TrimSuffix(s, "\n")
		for line := range strings.SplitSeq(s, "\n") {
			items = append(items, strings.TrimSuffix(line, "\r"))
		}
		if s == "" {
			items = nil
		}
	default:
		return nil, fmt.Errorf("format %q is not one of %q", format, resultmaterialize.Formats)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("holds no items: Tekton passes an empty list as the string \"[]\", so an array result needs at least one item")
	}
	return items, nil
}

// checkType refuses a string result whose value Tekton would read as an
// array: its consumer would fail the whole PipelineRun later with "param
// types don't match".
func checkType(res Result, value string) error {
	if res.Type == resultmaterialize.TypeArray || !resultmaterialize.ReadAsArray(value) {
		return nil
	}
	return outcome.Fail(reasons.ResultReadAsArray,
		"result %q: its value is a JSON array of strings, which Tekton passes to consumers as an array param; set type: array to surface it as one, or encoding: base64 to keep it a string", res.Name)
}

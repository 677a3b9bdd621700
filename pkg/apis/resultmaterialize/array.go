package resultmaterialize

import (
	"encoding/json"
	"strings"
)

// ReadAsArray reports whether Tekton would pass value to a consumer as an
// array param: it does so for any result that parses as a non-empty JSON
// array of strings.
func ReadAsArray(value string) bool {
	if !strings.HasPrefix(strings.TrimLeft(value, " \t\r\n"), "[") {
		return false
	}
	var items []string
	return json.Unmarshal([]byte(value), &items) == nil && len(items) > 0
}

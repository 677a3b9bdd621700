package reasons

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEListsEveryReason keeps the README's reason table in step with
// All, both ways.
func TestREADMEListsEveryReason(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	inTable := false
	for line := range strings.SplitSeq(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "| reason | when |"):
			inTable = true
		case inTable && !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable && strings.HasPrefix(line, "| `"):
			documented[strings.Trim(strings.Split(line, "|")[1], " `")] = true
		}
	}
	for _, r := range All {
		if !documented[string(r)] {
			t.Errorf("reason %s is not in the README's reason table", r)
		}
		delete(documented, string(r))
	}
	for r := range documented {
		t.Errorf("the README's reason table lists %s, which is not a reason", r)
	}
}

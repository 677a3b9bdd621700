package reasons

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryReason keeps docs/reasons.md in step with All, both
// ways.
func TestDocsListEveryReason(t *testing.T) {
	raw, err := os.ReadFile("../../docs/reasons.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	inTable := false
	for line := range strings.SplitSeq(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "| reason | when | retried | what to do |"):
			inTable = true
		case inTable && !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable && strings.HasPrefix(line, "| `"):
			documented[strings.Trim(strings.Split(line, "|")[1], " `")] = true
		}
	}
	for _, r := range All {
		if !documented[string(r)] {
			t.Errorf("reason %s is not in docs/reasons.md", r)
		}
		delete(documented, string(r))
	}
	for r := range documented {
		t.Errorf("docs/reasons.md lists %s, which is not a reason", r)
	}
}

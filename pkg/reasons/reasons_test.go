package reasons

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestDocsListEveryReason keeps docs/reasons.md in step with All, both
// ways, and marks exactly the Waiting reasons as waiting.
func TestDocsListEveryReason(t *testing.T) {
	raw, err := os.ReadFile("../../docs/reasons.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	inTable := false
	for line := range strings.SplitSeq(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "| reason | when | retried | what to do |"):
			inTable = true
		case inTable && !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			documented[strings.Trim(cells[1], " `")] = strings.TrimSpace(cells[3])
		}
	}
	for _, r := range All {
		retried, ok := documented[string(r)]
		switch {
		case !ok:
			t.Errorf("reason %s is not in docs/reasons.md", r)
		case slices.Contains(Waiting, r) != (retried == "waiting"):
			t.Errorf("docs/reasons.md says %s is retried %q; want \"waiting\" for exactly the Waiting reasons", r, retried)
		}
		delete(documented, string(r))
	}
	for _, r := range Waiting {
		if !slices.Contains(All, r) {
			t.Errorf("waiting reason %s is not in All", r)
		}
	}
	for r := range documented {
		t.Errorf("docs/reasons.md lists %s, which is not a reason", r)
	}
}

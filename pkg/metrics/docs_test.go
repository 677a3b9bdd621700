package metrics

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryMetric keeps docs/metrics.md's table in step with
// Names, both ways.
func TestDocsListEveryMetric(t *testing.T) {
	raw, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if strings.HasPrefix(line, "| `resultmaterialize_") {
			documented = append(documented, strings.Trim(strings.Split(line, "|")[1], " `"))
		}
	}
	for _, n := range Names {
		found := false
		for _, d := range documented {
			found = found || strings.HasPrefix(d, n+"_")
		}
		if !found {
			t.Errorf("metric %s is not in docs/metrics.md", n)
		}
	}
	for _, d := range documented {
		known := false
		for _, n := range Names {
			known = known || strings.HasPrefix(d, n+"_")
		}
		if !known {
			t.Errorf("docs/metrics.md lists %s, which no instrument exports", d)
		}
	}
}

package v1alpha1

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAPIIsALeaf: the API types and the generated clients link neither the
// engine nor the projections nor cel-go, so a client of the API pulls in
// only the API. The engine imports the API, never the reverse.
func TestAPIIsALeaf(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./pkg/apis/...", "./pkg/client/...")
	cmd.Dir = "../../../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/resultmaterialize/controller/pkg/materialize",
		"github.com/resultmaterialize/controller/pkg/projection",
		"github.com/google/cel-go",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("pkg/apis or pkg/client depends on %s", dep)
			}
		}
	}
}

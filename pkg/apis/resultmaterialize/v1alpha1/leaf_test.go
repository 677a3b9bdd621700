package v1alpha1

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestAPIIsALeaf: the API types and the generated clients link nothing of
// ours but themselves, and not cel-go, so a client of the API pulls in
// only the API. The engine imports the API, never the reverse.
func TestAPIIsALeaf(t *testing.T) {
	const module = "github.com/resultmaterialize/controller/"
	cmd := exec.Command("go", "list", "-deps", "./pkg/apis/...", "./pkg/client/...")
	cmd.Dir = "../../../.."
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("go list -deps: %v: %s", err, exit.Stderr)
	}
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		ours := strings.HasPrefix(dep, module) && !strings.HasPrefix(dep, module+"pkg/apis/") && !strings.HasPrefix(dep, module+"pkg/client/")
		if ours || dep == "github.com/google/cel-go" || strings.HasPrefix(dep, "github.com/google/cel-go/") {
			t.Errorf("pkg/apis or pkg/client depends on %s", dep)
		}
	}
}

package resultmaterialize

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// deps lists every package pkgs link, run from the repository's root.
func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = "../../.."
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("go list -deps: %v: %s", err, exit.Stderr)
	}
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	return strings.Fields(string(out))
}

// TestAPIIsALeaf: the API types and the generated clients link nothing of
// ours but themselves, and not cel-go, so a client of the API pulls in
// only the API. The engine imports the API, never the reverse.
func TestAPIIsALeaf(t *testing.T) {
	const module = "github.com/resultmaterialize/controller/"
	for _, dep := range deps(t, "./pkg/apis/...", "./pkg/client/...") {
		ours := strings.HasPrefix(dep, module) && !strings.HasPrefix(dep, module+"pkg/apis/") && !strings.HasPrefix(dep, module+"pkg/client/")
		if ours || dep == "github.com/google/cel-go" || strings.HasPrefix(dep, "github.com/google/cel-go/") {
			t.Errorf("pkg/apis or pkg/client depends on %s", dep)
		}
	}
}

// TestReaderLinksNoAPIMachinery: the rules the reader pod shares with the
// controller (enums, limits, names, the oversize rule, Row) live here, on
// the standard library alone, so the reader binary does not link
// Kubernetes' or knative's API packages through the engine.
func TestReaderLinksNoAPIMachinery(t *testing.T) {
	for _, dep := range deps(t, "./cmd/reader", "./pkg/apis/resultmaterialize") {
		if strings.HasPrefix(dep, "k8s.io/apimachinery/") || strings.HasPrefix(dep, "knative.dev/") || strings.HasSuffix(dep, "/pkg/apis/resultmaterialize/v1alpha1") {
			t.Errorf("the reader or the API's shared rules depend on %s", dep)
		}
	}
}

package resultmaterialize

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestReaderLinksNoAPIMachinery: the rules the reader pod shares with the
// controller (enums, limits, names, the oversize rule, Row) live here, on
// the standard library alone, so the reader binary does not link
// Kubernetes' or knative's API packages through the engine.
func TestReaderLinksNoAPIMachinery(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/reader", "./pkg/apis/resultmaterialize")
	cmd.Dir = "../../.."
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("go list -deps: %v: %s", err, exit.Stderr)
	}
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/apimachinery/") || strings.HasPrefix(dep, "knative.dev/") || strings.HasSuffix(dep, "/pkg/apis/resultmaterialize/v1alpha1") {
			t.Errorf("the reader or the API's shared rules depend on %s", dep)
		}
	}
}

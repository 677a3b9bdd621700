//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/rmat"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestRmatLs: kubectl rmat ls on the README's pipeline shows the inline
// value in the status and the model by reference in the claim, with the
// digest the run published; the PipelineRun asks Tekton to delete its
// claim once it is done, and ls then says the claim is gone.
func TestRmatLs(t *testing.T) {
	ctx, c, ns := setup(t)
	doc := strings.Replace(pipelineRun(t, "cleaned", "true", "reference"), "metadata:\n", "metadata:\n  annotations: {tekton.dev/auto-cleanup-pvc: \"true\"}\n", 1)
	pr, cond := runPipeline(ctx, t, c, ns, doc)
	if !cond.IsTrue() {
		t.Fatalf("PipelineRun: %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	published := results(customRunOf(ctx, t, c, ns, pr.Name))
	clients := rmat.Clients{Kube: c.kube, Tekton: c.tekton}
	runs, err := rmat.Runs(ctx, clients, ns, pr.Name)
	if err != nil || len(runs) != 1 {
		t.Fatalf("Runs = %d runs, %v; want the one materialize run", len(runs), err)
	}
	var model rmat.Entry
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		entries, err := rmat.List(ctx, clients, runs)
		if err != nil || len(entries) != 2 {
			t.Fatalf("List = %+v, %v; want approved and model", entries, err)
		}
		approved := entries[0]
		model = entries[1]
		if approved.Result != "approved" || approved.Surfaced != "inline" || approved.Location != "status" ||
			model.Result != "model" || model.Surfaced != "reference" || model.Size != 1<<20 || model.SHA256 != published["model-sha256"] ||
			!strings.HasPrefix(model.Location, "persistentvolumeclaim/") || !strings.HasSuffix(model.Location, ":results/model") {
			t.Fatalf("entries %+v; want approved inline in the status and the 1 MiB model in the claim with the run's digest", entries)
		}
		return model.Exists == "gone", nil
	})
	if err != nil {
		t.Errorf("the model's claim is %q after 2m, want gone: Tekton deletes it after the PipelineRun", model.Exists)
	}
}

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/rmat"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
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

// TestRmatCat: kubectl rmat cat writes the README pipeline's inline value
// from the status and its 1 MiB model from the claim, through a reader
// pod, with the digest the run published, and cp writes both with a
// manifest saying they were verified; a model changed in the claim
// afterwards is written and reported as a mismatch; a read cut short
// (Ctrl-C) leaves no pod behind, nor does any other.
func TestRmatCat(t *testing.T) {
	ctx, c, ns := setup(t)
	pr, cond := runPipeline(ctx, t, c, ns, pipelineRun(t, "cat", "true", "reference"))
	if !cond.IsTrue() {
		t.Fatalf("PipelineRun: %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	published := results(customRunOf(ctx, t, c, ns, pr.Name))
	restConfig, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	clients := rmat.Clients{Kube: c.kube, Tekton: c.tekton}
	fetch := rmat.Fetch{REST: restConfig, ControllerNamespace: controllerNamespace, Hold: 2 * time.Minute}
	cat := func(ctx context.Context, result string, w *limited) error {
		runs, entries := listed(ctx, t, clients, ns, pr.Name)
		e, err := rmat.Find(entries, "materialize."+result)
		if err != nil {
			t.Fatal(err)
		}
		return rmat.Cat(ctx, clients, fetch, &runs[0], e, w)
	}
	var approved limited
	if err := cat(ctx, "approved", &approved); err != nil || approved.String() != "true" {
		t.Errorf("cat approved = %q, %v; want true", approved.String(), err)
	}
	var model limited
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	if err := cat(ctx, "model", &model); err != nil || model.Len() != 1<<20 || sum(model.Bytes()) != published["model-sha256"] {
		t.Errorf("cat model = %d bytes, sha256 %s, %v; want 1 MiB with %s", model.Len(), sum(model.Bytes()), err, published["model-sha256"])
	}
	noFetchPods(ctx, t, c, ns)

	dir := t.TempDir()
	runs, entries := listed(ctx, t, clients, ns, pr.Name)
	m, err := rmat.CopyAll(ctx, clients, fetch, runs, entries, dir, "", "")
	copied, rerr := os.ReadFile(filepath.Join(dir, "materialize", "model"))
	if err != nil || rerr != nil || len(m.Results) != 2 || !m.Results[0].Verified || !m.Results[1].Verified || sum(copied) != published["model-sha256"] {
		t.Errorf("cp = %+v, %v; model %d bytes (%v); want approved and the model written and verified", m, err, len(copied), rerr)
	}
	noFetchPods(ctx, t, c, ns)

	cut, cancel := context.WithCancel(ctx)
	short := limited{after: 64 << 10, cancel: cancel}
	if err := cat(cut, "model", &short); err == nil {
		t.Error("a read cancelled mid-stream ended without an error")
	}
	noFetchPods(ctx, t, c, ns)

	writeClaim(ctx, t, c, ns, claimOf(ctx, t, c, ns), "printf x >> /data/results/model")
	var changed limited
	if err := cat(ctx, "model", &changed); !errors.Is(err, rmat.ErrMismatch) || changed.Len() != 1<<20+1 {
		t.Errorf("cat of a changed model = %d bytes, %v; want its 1 MiB + 1 bytes and a mismatch", changed.Len(), err)
	}
	noFetchPods(ctx, t, c, ns)

	// The binary's exit codes, as docs/cli.md gives them.
	bin := filepath.Join(t.TempDir(), "kubectl-rmat")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/kubectl-rmat").CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v: %s", err, out)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"cat", pr.Name, "materialize.approved"}, 0},
		{[]string{"cat", pr.Name, "materialize.model"}, 3},
		{[]string{"ls", "no-such-run"}, 1},
	} {
		cmd := exec.CommandContext(ctx, bin, append(tc.args, "-n", ns)...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		_ = cmd.Run()
		if got := cmd.ProcessState.ExitCode(); got != tc.code {
			t.Errorf("kubectl-rmat %v exited %d (%s), want %d", tc.args, got, stderr.String(), tc.code)
		}
	}
	noFetchPods(ctx, t, c, ns)
}

// limited is a buffer that cancels a context once it holds after bytes.
type limited struct {
	bytes.Buffer
	after  int
	cancel context.CancelFunc
}

func (l *limited) Write(p []byte) (int, error) {
	n, err := l.Buffer.Write(p)
	if l.cancel != nil && l.Len() >= l.after {
		l.cancel()
	}
	return n, err
}

// noFetchPods waits until no kubectl rmat pod is left in the namespace.
func noFetchPods(ctx context.Context, t *testing.T, c *clients, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubectl-rmat"})
		return err == nil && len(pods.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("kubectl rmat's reader pod is still in %s after a minute", ns)
	}
}

// claimOf is the namespace's one claim: the PipelineRun's.
func claimOf(ctx context.Context, t *testing.T, c *clients, ns string) string {
	t.Helper()
	claims, err := c.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(claims.Items) != 1 {
		t.Fatalf("claims in %s: %v, %v; want the PipelineRun's", ns, claims, err)
	}
	return claims.Items[0].Name
}

// TestRmatCatSizes: kubectl rmat cat writes a 1-byte result (inline,
// from the status) and a 100 MiB one (from the claim, through a reader
// pod) with the digests the producer computed itself with sha256sum.
func TestRmatCatSizes(t *testing.T) {
	ctx, c, ns := setup(t)
	pr, cond := runPipeline(ctx, t, c, ns, render(t, "sizes.yaml", struct{ Name string }{"sizes"}))
	if !cond.IsTrue() {
		t.Fatalf("PipelineRun: %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	sums := strings.Fields(pipelineResult(pr, "sums"))
	if len(sums) != 2 {
		t.Fatalf("the producer's sums = %v", sums)
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	clients := rmat.Clients{Kube: c.kube, Tekton: c.tekton}
	fetch := rmat.Fetch{REST: restConfig, ControllerNamespace: controllerNamespace, Hold: 2 * time.Minute}
	runs, entries := listed(ctx, t, clients, ns, pr.Name)
	if len(runs) != 1 {
		t.Fatalf("runs %d, want the materialize run", len(runs))
	}
	for i, tc := range []struct{ result, location string }{{"one", "status"}, {"hundred", "persistentvolumeclaim/"}} {
		e, err := rmat.Find(entries, "materialize."+tc.result)
		if err != nil || !strings.HasPrefix(e.Location, tc.location) {
			t.Fatalf("%s: %+v, %v; want it in %s", tc.result, e, err, tc.location)
		}
		h := sha256.New()
		if err := rmat.Cat(ctx, clients, fetch, &runs[0], e, h); err != nil || hex.EncodeToString(h.Sum(nil)) != sums[i] {
			t.Errorf("cat %s: %v, sha256 %x; want the producer's %s", tc.result, err, h.Sum(nil), sums[i])
		}
	}
	noFetchPods(ctx, t, c, ns)
}

// listed is what kubectl rmat sees of PipelineRun pr: its
// ResultMaterialize runs and their results.
func listed(ctx context.Context, t *testing.T, clients rmat.Clients, ns, pr string) ([]v1beta1.CustomRun, []rmat.Entry) {
	t.Helper()
	runs, err := rmat.Runs(ctx, clients, ns, pr)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := rmat.List(ctx, clients, runs)
	if err != nil {
		t.Fatal(err)
	}
	return runs, entries
}

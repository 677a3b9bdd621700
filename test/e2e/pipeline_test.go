//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
)

// pipelineRun is the README's example pipeline, embedded: the producer
// writes approved=<approved> and a 1 MiB model into a volumeClaimTemplate
// workspace (ReadWriteOnce, so Tekton's affinity assistant places every
// pod, ours too); consume runs when approved is true and checks the model
// through its -path and -sha256 companions; reject runs when it is false.
func pipelineRun(t *testing.T, name, approved, onOversize string) string {
	return render(t, "pipeline.yaml", struct{ Name, Approved, OnOversize string }{name, approved, onOversize})
}

func runPipeline(ctx context.Context, t *testing.T, c *clients, ns, doc string) (*v1.PipelineRun, *apis.Condition) {
	t.Helper()
	return waitPipeline(ctx, t, c, ns, createPipeline(ctx, t, c, ns, doc))
}

// createPipeline creates the PipelineRun doc and returns its name.
func createPipeline(ctx context.Context, t *testing.T, c *clients, ns, doc string) string {
	t.Helper()
	var pr v1.PipelineRun
	decode(t, doc, &pr)
	created, err := c.tekton.TektonV1().PipelineRuns(ns).Create(ctx, &pr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created.Name
}

// waitPipeline waits until PipelineRun name is done.
func waitPipeline(ctx context.Context, t *testing.T, c *clients, ns, name string) (*v1.PipelineRun, *apis.Condition) {
	t.Helper()
	var got *v1.PipelineRun
	cond := waitDone(ctx, t, func(ctx context.Context) (apis.ConditionAccessor, error) {
		var err error
		got, err = c.tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
		return &got.Status, err
	}, "PipelineRun "+name)
	return got, cond
}

func skipped(pr *v1.PipelineRun) []string {
	var names []string
	for _, s := range pr.Status.SkippedTasks {
		names = append(names, s.Name)
	}
	return names
}

func customRunOf(ctx context.Context, t *testing.T, c *clients, ns, pr string) *v1beta1.CustomRun {
	t.Helper()
	runs, err := c.tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + pr})
	if err != nil || len(runs.Items) != 1 {
		t.Fatalf("CustomRuns of %s: %v, err %v; want one", pr, runs, err)
	}
	return &runs.Items[0]
}

func TestPipelineWhenTrue(t *testing.T) {
	ctx, c, ns := setup(t)
	pr, cond := runPipeline(ctx, t, c, ns, pipelineRun(t, "approved", "true", "reference"))
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("PipelineRun %s: %s %s", cond.Status, cond.Reason, cond.Message)
	}
	if s := skipped(pr); !slices.Equal(s, []string{"reject"}) {
		t.Errorf("skipped tasks %v, want only reject", s)
	}
	run := customRunOf(ctx, t, c, ns, pr.Name)
	r := results(run)
	if r["approved"] != "true" || r["approved-inline"] != "true" {
		t.Errorf("approved = %q inline %q, want true inline", r["approved"], r["approved-inline"])
	}
	if r["model"] != "results/model" || r["model-inline"] != "false" || r["model-size"] != "1048576" || len(r["model-sha256"]) != 64 {
		t.Errorf("model results %v, want a 1 MiB reference with a digest", r)
	}
	// The affinity assistant mode: the reader reached the ReadWriteOnce
	// volume the assistant pinned to its node.
	if !strings.HasPrefix(run.Annotations["pipeline.tekton.dev/affinity-assistant"], "affinity-assistant-") {
		t.Errorf("CustomRun annotations %v, want Tekton's affinity assistant", run.Annotations)
	}
	waitNoReaderPods(ctx, t, c, ns)
}

func TestPipelineWhenFalse(t *testing.T) {
	ctx, c, ns := setup(t)
	pr, cond := runPipeline(ctx, t, c, ns, pipelineRun(t, "rejected", "false", "reference"))
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("PipelineRun %s: %s %s", cond.Status, cond.Reason, cond.Message)
	}
	if s := skipped(pr); !slices.Equal(s, []string{"consume"}) {
		t.Errorf("skipped tasks %v, want only consume", s)
	}
}

func TestPipelineOnOversizeFail(t *testing.T) {
	ctx, c, ns := setup(t)
	pr, cond := runPipeline(ctx, t, c, ns, pipelineRun(t, "oversize", "true", "fail"))
	if cond.Status != corev1.ConditionFalse {
		t.Fatalf("PipelineRun %s %s, want it failed", cond.Status, cond.Reason)
	}
	run := customRunOf(ctx, t, c, ns, pr.Name)
	rc := run.Status.GetCondition(apis.ConditionSucceeded)
	if rc.Reason != "ResultOversize" || !strings.Contains(rc.Message, `result "model": file "results/model" is 1048576 bytes, above its threshold of 4096 bytes`) {
		t.Errorf("CustomRun condition %s %q, want ResultOversize naming model, its size and the limit", rc.Reason, rc.Message)
	}
}

func TestPipelineCancel(t *testing.T) {
	ctx, c, ns := setup(t)
	// A reader that cannot be scheduled stays Pending until cancelled.
	setConfig(ctx, t, c, map[string]string{"reader-cpu-request": "1000", "reader-cpu-limit": "1000"})
	var pr v1.PipelineRun
	decode(t, pipelineRun(t, "cancel", "true", "reference"), &pr)
	created, err := c.tekton.TektonV1().PipelineRuns(ns).Create(ctx, &pr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, runTimeout, true, func(ctx context.Context) (bool, error) {
		return len(readerPods(ctx, t, c, ns)) == 1, nil
	})
	if err != nil {
		t.Fatalf("no reader pod appeared: %v", err)
	}
	latest, err := c.tekton.TektonV1().PipelineRuns(ns).Get(ctx, created.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	latest.Spec.Status = v1.PipelineRunSpecStatusCancelled
	if _, err := c.tekton.TektonV1().PipelineRuns(ns).Update(ctx, latest, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := customRunOf(ctx, t, c, ns, created.Name)
	_, cond := waitCustomRun(ctx, t, c, ns, run.Name)
	if cond.Reason != "CustomRunCancelled" {
		t.Errorf("CustomRun condition %s %q, want CustomRunCancelled", cond.Reason, cond.Message)
	}
	waitNoReaderPods(ctx, t, c, ns)
}

func waitNoReaderPods(ctx context.Context, t *testing.T, c *clients, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		return len(readerPods(ctx, t, c, ns)) == 0, nil
	})
	if err != nil {
		t.Errorf("reader pods left behind: %v", readerPods(ctx, t, c, ns))
	}
}

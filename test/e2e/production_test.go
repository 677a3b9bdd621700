//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"
)

// A PipelineRun cancelled after its materialize task finished cancels
// every child CustomRun, finished ones too: the finished one keeps its
// outcome and results.
func TestCancelAfterMaterialize(t *testing.T) {
	ctx, c, ns := setup(t)
	doc := render(t, "cancel-after.yaml", nil)
	var pr v1.PipelineRun
	decode(t, doc, &pr)
	created, err := c.tekton.TektonV1().PipelineRuns(ns).Create(ctx, &pr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var runName string
	err = wait.PollUntilContextTimeout(ctx, time.Second, runTimeout, true, func(ctx context.Context) (bool, error) {
		runs, err := c.tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=" + created.Name})
		if err != nil || len(runs.Items) != 1 {
			return false, nil
		}
		runName = runs.Items[0].Name
		return runs.Items[0].IsSuccessful(), nil
	})
	if err != nil {
		t.Fatalf("materialize did not succeed: %v", err)
	}
	// Tekton's controller updates the PipelineRun too: cancel it on the
	// newest copy.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := c.tekton.TektonV1().PipelineRuns(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		latest.Spec.Status = v1.PipelineRunSpecStatusCancelled
		_, err = c.tekton.TektonV1().PipelineRuns(ns).Update(ctx, latest, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(ctx, t, func(ctx context.Context) (apis.ConditionAccessor, error) {
		got, err := c.tekton.TektonV1().PipelineRuns(ns).Get(ctx, created.Name, metav1.GetOptions{})
		return &got.Status, err
	}, "PipelineRun "+created.Name)
	// Give the controller time to see the cancelled spec.
	var status string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		run, err := c.tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, runName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := run.Status.GetCondition(apis.ConditionSucceeded)
		status = fmt.Sprintf("spec.status %q, observedGeneration %d of %d, %s %s, approved=%q", run.Spec.Status, run.Status.ObservedGeneration, run.Generation, cond.Status, cond.Reason, results(run)["approved"])
		if cond.Status != corev1.ConditionTrue || cond.Reason != "Materialized" || results(run)["approved"] != "true" {
			return false, fmt.Errorf("the finished CustomRun changed: %s", status)
		}
		return run.Spec.Status == "RunCancelled" && run.Status.ObservedGeneration == run.Generation, nil
	})
	if err != nil {
		t.Fatalf("CustomRun after the cancel: %v (%s)", err, status)
	}
}

// taskParams lists, sorted, the param values of every TaskRun of one
// pipeline task: a matrix task has one TaskRun per item.
func taskParams(ctx context.Context, t *testing.T, c *clients, ns, pr, task string) []string {
	t.Helper()
	var values []string
	for _, tr := range taskRuns(ctx, t, c, ns, pr, task) {
		for _, p := range tr.Spec.Params {
			values = append(values, p.Value.StringVal)
		}
	}
	slices.Sort(values)
	return values
}

// taskRuns lists the TaskRuns of one pipeline task.
func taskRuns(ctx context.Context, t *testing.T, c *clients, ns, pr, task string) []v1.TaskRun {
	t.Helper()
	trs, err := c.tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: "tekton.dev/pipelineTask=" + task + ",tekton.dev/pipelineRun=" + pr})
	if err != nil {
		t.Fatal(err)
	}
	return trs.Items
}

// A result whose file is a list surfaces as an array: a matrix consumer
// fans out over its items. A string result that Tekton would read as an
// array fails the materialize run with its own reason.
func TestArrayResultMatrix(t *testing.T) {
	ctx, c, ns := setup(t)
	doc := render(t, "array-matrix.yaml", nil)
	pr, cond := runPipeline(ctx, t, c, ns, doc)
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("PipelineRun %s %q, want Succeeded", cond.Reason, cond.Message)
	}
	if shards := taskParams(ctx, t, c, ns, pr.Name, "consume"); strings.Join(shards, ",") != "a,b,c" {
		t.Errorf("matrix consumers got %q, want a, b and c", shards)
	}

	createOutputs(ctx, t, c, ns)
	cm, err := c.kube.CoreV1().ConfigMaps(ns).Get(ctx, "outputs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["list"] = `["x","y"]`
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, rc := createCustomRun(ctx, t, c, ns, strings.Replace(configMapRun("looks-like-array"), "[version]", "[list]", 1))
	if rc.Reason != "ResultReadAsArray" || !strings.Contains(rc.Message, "type: array") {
		t.Errorf("CustomRun %s %q, want ResultReadAsArray naming type: array", rc.Reason, rc.Message)
	}
}

// On a tainted node whose taint the PipelineRun's pod template tolerates,
// the reader pod follows the affinity assistant there.
func TestTaintedNode(t *testing.T) {
	ctx, c, ns := setup(t)
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 {
		t.Skipf("the test taints the only node of a single-node cluster; nodes: %d, err %v", len(nodes.Items), err)
	}
	taint := corev1.Taint{Key: "resultmaterialize.e2e/dedicated", Value: "pipelines", Effect: corev1.TaintEffectNoSchedule}
	setTaint(ctx, t, c, nodes.Items[0].Name, &taint)
	t.Cleanup(func() { setTaint(context.Background(), t, c, nodes.Items[0].Name, nil) })
	doc := strings.Replace(pipelineRun(t, "tainted", "true", "reference"), "spec:\n  workspaces:", `spec:
  taskRunTemplate:
    podTemplate:
      tolerations: [{key: resultmaterialize.e2e/dedicated, operator: Equal, value: pipelines, effect: NoSchedule}]
  workspaces:`, 1)
	pr, cond := runPipeline(ctx, t, c, ns, doc)
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("PipelineRun %s %q, want Succeeded", cond.Reason, cond.Message)
	}
	run := customRunOf(ctx, t, c, ns, pr.Name)
	if got := results(run)["approved"]; got != "true" {
		t.Errorf("approved = %q, want true", got)
	}
}

func setTaint(ctx context.Context, t *testing.T, c *clients, name string, taint *corev1.Taint) {
	t.Helper()
	node, err := c.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Taints = slices.DeleteFunc(node.Spec.Taints, func(x corev1.Taint) bool { return x.Key == "resultmaterialize.e2e/dedicated" })
	if taint != nil {
		node.Spec.Taints = append(node.Spec.Taints, *taint)
	}
	if _, err := c.kube.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

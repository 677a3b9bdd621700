//go:build e2e

package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestProjectionDrivesWhenAndMatrix: a producer writes a 50 MiB
// metrics.json whose small fields come after the padding, so the reader
// streams through all of it (both of its projections are simple paths),
// and a small summary.json. A when on the projected {.accuracy} runs one
// consumer and skips another, a CEL boolean over the summary drives a
// when, and a projected list fans out a matrix consumer.
func TestProjectionDrivesWhenAndMatrix(t *testing.T) {
	ctx, c, ns := setup(t)
	doc := render(t, "projection-when-matrix.yaml", nil)
	pr, cond := runPipeline(ctx, t, c, ns, doc)
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("PipelineRun %s %q, want Succeeded", cond.Reason, cond.Message)
	}
	run := customRunOf(ctx, t, c, ns, pr.Name)
	r := results(run)
	if r["accuracy"] != "0.93" || r["good"] != "true" || r["shards"] != `["s1","s2","s3"]` {
		t.Errorf("results %v, want accuracy 0.93, good true, shards s1 s2 s3", r)
	}
	if got := skipped(pr); !slices.Equal(got, []string{"retrain"}) {
		t.Errorf("skipped tasks %v, want retrain only", got)
	}
	for _, task := range []string{"deploy", "publish"} {
		if trs := taskRuns(ctx, t, c, ns, pr.Name, task); len(trs) != 1 {
			t.Errorf("task %s has %d TaskRuns, want it to run once", task, len(trs))
		}
	}
	if shards := taskParams(ctx, t, c, ns, pr.Name, "shard"); strings.Join(shards, ",") != "s1,s2,s3" {
		t.Errorf("matrix consumers got %q, want s1, s2 and s3", shards)
	}
}

// TestConfigMapProjection: a ConfigMap workspace is projected in the
// controller, with no reader pod, from the params' compact form.
func TestConfigMapProjection(t *testing.T) {
	ctx, c, ns := setup(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "outputs"}, Data: map[string]string{
		"metrics.json": `{"accuracy": 0.93, "stages": [{"name": "train", "ok": true}, {"name": "eval", "ok": false}]}`,
		"plan.yaml":    "owner: ml-team\nshards: [a, b]\n",
	}}
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run, cond := createCustomRun(ctx, t, c, ns, `
metadata: {name: cm-projection}
spec:
  customRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: ResultMaterialize}
  params:
    - name: results
      value:
        - accuracy=metrics.json#{.accuracy}
        - failed=metrics.json#{.stages[?(@.ok==false)].name}
        - allok=metrics.json#cel:doc.stages.all(s, s.ok)
  workspaces:
    - {name: outputs, configMap: {name: outputs}}
`)
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("condition %s %s %q, want Succeeded", cond.Status, cond.Reason, cond.Message)
	}
	if r := results(run); r["accuracy"] != "0.93" || r["failed"] != "eval" || r["allok"] != "false" {
		t.Errorf("results %v, want accuracy 0.93, failed eval, allok false", r)
	}
	if pods := readerPods(ctx, t, c, ns); len(pods) != 0 {
		t.Errorf("%d reader pods, want none for a ConfigMap", len(pods))
	}
}

// TestProjectionExample runs examples/projection.yaml as it is.
func TestProjectionExample(t *testing.T) {
	ctx, c, ns := setup(t)
	raw, err := os.ReadFile("../../examples/projection.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(raw), "generateName: projection-demo-", "name: projection-demo", 1)
	pr, cond := runPipeline(ctx, t, c, ns, doc)
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("PipelineRun %s %q, want Succeeded", cond.Reason, cond.Message)
	}
	if got := skipped(pr); !slices.Equal(got, []string{"retrain"}) {
		t.Errorf("skipped tasks %v, want retrain only", got)
	}
	if got := taskParams(ctx, t, c, ns, pr.Name, "deploy"); !slices.Equal(got, []string{"0.93"}) {
		t.Errorf("deploy params %v, want accuracy 0.93", got)
	}
	if got := taskParams(ctx, t, c, ns, pr.Name, "evaluate"); !slices.Equal(got, []string{"eu-west", "us-east"}) {
		t.Errorf("matrix consumers got %v, want eu-west and us-east", got)
	}
}

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

func createCustomRun(ctx context.Context, t *testing.T, c *clients, ns, doc string) (*v1beta1.CustomRun, *apis.Condition) {
	t.Helper()
	var run v1beta1.CustomRun
	decode(t, doc, &run)
	created, err := c.tekton.TektonV1beta1().CustomRuns(ns).Create(ctx, &run, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return waitCustomRun(ctx, t, c, ns, created.Name)
}

func configMapRun(name string) string {
	return fmt.Sprintf(`
metadata: {name: %s}
spec:
  customRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: ResultMaterialize}
  params:
    - {name: results, value: [version]}
  workspaces:
    - {name: outputs, configMap: {name: outputs}}
`, name)
}

// claimRun is a CustomRun reading one result from the claim, bound as
// workspace "data".
func claimRun(name, claim, result string) string {
	return fmt.Sprintf(`
metadata: {name: %s}
spec:
  customRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: ResultMaterialize}
  params:
    - {name: results, value: [%s]}
  workspaces:
    - {name: data, persistentVolumeClaim: {claimName: %s}}
`, name, result, claim)
}

func createOutputs(ctx context.Context, t *testing.T, c *clients, ns string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "outputs"}, Data: map[string]string{"version": "1.4.2"}}
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigMapWorkspace(t *testing.T) {
	ctx, c, ns := setup(t)
	createOutputs(ctx, t, c, ns)
	run, cond := createCustomRun(ctx, t, c, ns, configMapRun("cm"))
	if cond.Status != corev1.ConditionTrue || cond.Reason != "Materialized" {
		t.Fatalf("condition %s %s %q, want Succeeded Materialized", cond.Status, cond.Reason, cond.Message)
	}
	if r := results(run); r["version"] != "1.4.2" || r["version-inline"] != "true" || r["version-size"] != "5" {
		t.Errorf("results %v, want version 1.4.2 inline", r)
	}
}

func TestThresholdChangeWithoutRestart(t *testing.T) {
	ctx, c, ns := setup(t)
	createOutputs(ctx, t, c, ns)
	setConfig(ctx, t, c, map[string]string{"result-size-threshold": "2"})
	run, cond := createCustomRun(ctx, t, c, ns, configMapRun("small-threshold"))
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("condition %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	if r := results(run); r["version"] != "version" || r["version-inline"] != "false" {
		t.Errorf("results %v, want version by reference under a 2-byte threshold", r)
	}
}

func TestSecretWorkspaceRefused(t *testing.T) {
	ctx, c, ns := setup(t)
	_, cond := createCustomRun(ctx, t, c, ns, `
metadata: {name: secret}
spec:
  customRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: ResultMaterialize}
  params:
    - {name: results, value: [token]}
  workspaces:
    - {name: creds, secret: {secretName: creds}}
`)
	if cond.Status != corev1.ConditionFalse || cond.Reason != "SecretWorkspaceRefused" || !strings.Contains(cond.Message, "allow-secret-workspaces is false") {
		t.Errorf("condition %s %s %q, want Failed SecretWorkspaceRefused", cond.Status, cond.Reason, cond.Message)
	}
}

// TestRestrictedNamespace: a producer fills a volume, the namespace then
// enforces Pod Security restricted, and the reader pod is still admitted.
func TestRestrictedNamespace(t *testing.T) {
	ctx, c, ns := setup(t)
	createClaim(ctx, t, c, ns, "")
	var tr v1.TaskRun
	decode(t, `
metadata: {name: produce}
spec:
  workspaces: [{name: out, persistentVolumeClaim: {claimName: data}, subPath: run-1}]
  taskSpec:
    workspaces: [{name: out}]
    steps:
      - name: write
        image: busybox
        script: printf 'ready' > "$(workspaces.out.path)/status"
`, &tr)
	if _, err := c.tekton.TektonV1().TaskRuns(ns).Create(ctx, &tr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cond := waitDone(ctx, t, func(ctx context.Context) (apis.ConditionAccessor, error) {
		got, err := c.tekton.TektonV1().TaskRuns(ns).Get(ctx, "produce", metav1.GetOptions{})
		return &got.Status, err
	}, "TaskRun produce")
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("producer: %s %q", cond.Reason, cond.Message)
	}
	nsObj, err := c.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := c.kube.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	run, cond := createCustomRun(ctx, t, c, ns, `
metadata: {name: restricted}
spec:
  customRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: ResultMaterialize}
  params:
    - {name: results, value: [status]}
  workspaces:
    - {name: data, persistentVolumeClaim: {claimName: data}, subPath: run-1}
`)
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("condition %s %s %q, want Succeeded: the reader pod must pass restricted admission", cond.Status, cond.Reason, cond.Message)
	}
	if r := results(run); r["status"] != "ready" {
		t.Errorf("results %v, want status ready", r)
	}
}

// TestPipelineEmbeddedSpec: a pipeline task embeds the spec (taskSpec with
// apiVersion, kind and spec), which Tekton passes as customSpec. It works
// under Tekton's default enable-api-fields: beta.
func TestPipelineEmbeddedSpec(t *testing.T) {
	ctx, c, ns := setup(t)
	createOutputs(ctx, t, c, ns)
	pr, cond := runPipeline(ctx, t, c, ns, `
metadata: {name: embedded}
spec:
  workspaces: [{name: outputs, configMap: {name: outputs}}]
  pipelineSpec:
    workspaces: [{name: outputs}]
    tasks:
      - name: materialize
        taskSpec:
          apiVersion: custom.tekton.dev/v1alpha1
          kind: ResultMaterialize
          spec:
            results: [{name: version}]
        workspaces: [{name: outputs, workspace: outputs}]
      - name: use
        when: [{input: "$(tasks.materialize.results.version)", operator: in, values: ["1.4.2"]}]
        taskSpec:
          steps: [{name: echo, image: busybox, script: "echo released"}]
`)
	if cond.Status != corev1.ConditionTrue || len(pr.Status.SkippedTasks) != 0 {
		t.Fatalf("PipelineRun %s %s, skipped %v: want Succeeded with use run", cond.Status, cond.Reason, pr.Status.SkippedTasks)
	}
	if run := customRunOf(ctx, t, c, ns, pr.Name); run.Spec.CustomSpec == nil || results(run)["version"] != "1.4.2" {
		t.Errorf("CustomRun spec %+v results %v, want an embedded spec surfacing version", run.Spec, results(run))
	}
}

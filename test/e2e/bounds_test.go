//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
)

// createAll creates every CustomRun document at once and waits for each.
func createAll(ctx context.Context, t *testing.T, c *clients, ns string, docs []string) []*v1beta1.CustomRun {
	t.Helper()
	var names []string
	for _, doc := range docs {
		var run v1beta1.CustomRun
		decode(t, doc, &run)
		if _, err := c.tekton.TektonV1beta1().CustomRuns(ns).Create(ctx, &run, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, run.Name)
	}
	runs := make([]*v1beta1.CustomRun, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { runs[i], _ = waitCustomRun(ctx, t, c, ns, name) })
	}
	wg.Wait()
	return runs
}

// TestManyLargeResultsAtOnce is the case the kubelet's log rotation cut:
// 12 CustomRuns started at once on one claim, each asking for 64 results
// of 1,000,000 bytes at a 1Mi threshold. None fits the default 128Ki
// budget, so the reader prints no head and every result ends by
// reference.
func TestManyLargeResultsAtOnce(t *testing.T) {
	ctx, c, ns := setup(t)
	createClaim(ctx, t, c, ns, "")
	writeFiles(ctx, t, c, ns, "head -c 1000000 /dev/zero | tr '\\0' x > /data/big && chmod 644 /data/big")
	var specs []string
	for i := range 64 {
		specs = append(specs, fmt.Sprintf("{name: r%02d, path: big}", i))
	}
	var docs []string
	for i := range 12 {
		docs = append(docs, fmt.Sprintf(`
metadata: {name: many-%02d}
spec:
  customSpec:
    apiVersion: custom.tekton.dev/v1alpha1
    kind: ResultMaterialize
    spec: {threshold: 1Mi, results: [%s]}
  workspaces:
    - {name: data, persistentVolumeClaim: {claimName: data}}
`, i, strings.Join(specs, ", ")))
	}
	for _, run := range createAll(ctx, t, c, ns, docs) {
		cond := run.Status.GetCondition(apis.ConditionSucceeded)
		r := results(run)
		if cond == nil || cond.Status != corev1.ConditionTrue || r["r00"] != "big" || r["r63-inline"] != "false" || r["r63-size"] != "1000000" {
			t.Errorf("%s: condition %+v, r00 %q, r63-inline %q, r63-size %q; want Succeeded, every result a reference to big", run.Name, cond, r["r00"], r["r63-inline"], r["r63-size"])
		}
	}
}

// slowDocument is a document whose CEL comparison costs little for its
// time: a and b are one-item lists holding 20,000 strings each, compared
// for each of 4,000 items of l.
func slowDocument() string {
	items := make([]string, 20000)
	for i := range items {
		items[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	list := "[" + strings.Join(items, ",") + "]"
	l := make([]string, 4000)
	for i := range l {
		l[i] = fmt.Sprint(i)
	}
	return `{"l":[` + strings.Join(l, ",") + `],"a":[` + list + `],"b":[` + list + `]}`
}

// TestSlowConfigMapProjection is the run that hung with no status: eight
// slow CEL results over one ConfigMap. It ends within the controller's
// projection time with ProjectionCostExceeded, well before its timeout.
func TestSlowConfigMapProjection(t *testing.T) {
	ctx, c, ns := setup(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "slow"}, Data: map[string]string{"doc.json": slowDocument()}}
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var specs []string
	for i := range 8 {
		specs = append(specs, fmt.Sprintf(`{name: r%d, path: doc.json, expression: "doc.l.all(x, doc.a == doc.b)"}`, i))
	}
	start := time.Now()
	run, cond := createCustomRun(ctx, t, c, ns, fmt.Sprintf(`
metadata: {name: slow}
spec:
  timeout: 2m
  customSpec:
    apiVersion: custom.tekton.dev/v1alpha1
    kind: ResultMaterialize
    spec: {results: [%s]}
  workspaces:
    - {name: outputs, configMap: {name: slow}}
`, strings.Join(specs, ", ")))
	if cond.Status != corev1.ConditionFalse || cond.Reason != "ProjectionCostExceeded" || run.Status.StartTime == nil {
		t.Errorf("condition %s %s %q, start %v: want Failed ProjectionCostExceeded with the status written", cond.Status, cond.Reason, cond.Message, run.Status.StartTime)
	}
	t.Logf("ended %s after it was created: %s", time.Since(start).Round(time.Second), cond.Message)
}

// TestConfigMapProjectionsWithinControllerMemory is the load that OOM-
// killed both replicas: 32 runs at once projecting a 992,007-byte
// ConfigMap of 124,000 small objects with CEL. Every run succeeds and no
// controller container restarts.
func TestConfigMapProjectionsWithinControllerMemory(t *testing.T) {
	ctx, c, ns := setup(t)
	doc := `{"a":[` + strings.Repeat(`{"k":0},`, 123999) + `{"k":0}]}`
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "objects"}, Data: map[string]string{"doc.json": doc}}
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	restarts := controllerRestarts(ctx, t, c)
	var docs []string
	for i := range 32 {
		docs = append(docs, fmt.Sprintf(`
metadata: {name: objects-%02d}
spec:
  customSpec:
    apiVersion: custom.tekton.dev/v1alpha1
    kind: ResultMaterialize
    spec: {results: [{name: any, path: doc.json, expression: "size(doc.a) > 0"}]}
  workspaces:
    - {name: outputs, configMap: {name: objects}}
`, i))
	}
	for _, run := range createAll(ctx, t, c, ns, docs) {
		if cond := run.Status.GetCondition(apis.ConditionSucceeded); cond == nil || cond.Status != corev1.ConditionTrue || results(run)["any"] != "true" {
			t.Errorf("%s: condition %+v results %v, want Succeeded with any=true", run.Name, cond, results(run))
		}
	}
	if after := controllerRestarts(ctx, t, c); after != restarts {
		t.Errorf("controller containers restarted %d times during the test", after-restarts)
	}
}

func controllerRestarts(ctx context.Context, t *testing.T, c *clients) int32 {
	t.Helper()
	pods, err := c.kube.CoreV1().Pods(controllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=controller,app.kubernetes.io/part-of=resultmaterialize"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("listing controller pods: %v (%d found)", err, len(pods.Items))
	}
	var n int32
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			n += cs.RestartCount
		}
	}
	return n
}

// TestQuotaWaitShowsOnTheRun: in a namespace whose quota allows no pods,
// a PVC run says it waits on the quota, with the API server's words, and
// its timeout names that cause.
func TestQuotaWaitShowsOnTheRun(t *testing.T) {
	ctx, c, ns := setup(t)
	createClaim(ctx, t, c, ns, "")
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: mustQuantity("0")}}}
	if _, err := c.kube.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var run v1beta1.CustomRun
	decode(t, `
metadata: {name: quota}
spec:
  timeout: 40s
  customRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: ResultMaterialize}
  params:
    - {name: results, value: [flag]}
  workspaces:
    - {name: data, persistentVolumeClaim: {claimName: data}}
`, &run)
	if _, err := c.tekton.TektonV1beta1().CustomRuns(ns).Create(ctx, &run, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var waiting *apis.Condition
	err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, "quota", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		waiting = got.Status.GetCondition(apis.ConditionSucceeded)
		return waiting != nil && waiting.Reason == "ReaderQuotaExceeded", nil
	})
	if err != nil || waiting.Status != corev1.ConditionUnknown || !strings.Contains(waiting.Message, "exceeded quota") {
		t.Fatalf("while waiting: condition %+v (%v), want Running ReaderQuotaExceeded with the API server's words", waiting, err)
	}
	_, cond := waitCustomRun(ctx, t, c, ns, "quota")
	if cond.Reason != "CustomRunTimedOut" || !strings.Contains(cond.Message, "ReaderQuotaExceeded") {
		t.Errorf("timeout condition %s %q, want CustomRunTimedOut naming ReaderQuotaExceeded", cond.Reason, cond.Message)
	}
}

package resultmaterialize

// Events seen on production clusters, each with the outcome the run must
// have: Tekton cancelling finished runs, config changed mid-read, statuses
// too large to store, refused or long-named reader pods, unreadable logs,
// unschedulable readers, leftovers of deleted runs and objects not yet in
// the informer's cache.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	fakermclient "github.com/resultmaterialize/controller/pkg/client/injection/client/fake"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	ktesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
	fakefilteredpodinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered/fake"
	"knative.dev/pkg/controller"
)

func withSucceeded(value string) runOpt {
	return func(r *v1beta1.CustomRun) {
		r.Status.MarkCustomRunSucceeded(string(reasons.Materialized), "Materialized 1 results")
		r.Status.Results = []v1beta1.CustomRunResult{{Name: "approved", Value: value}}
	}
}

// TestFinishedRunIsFinal: Tekton cancels every child of a cancelled
// PipelineRun, finished ones too; the generation bump resets Succeeded to
// Unknown before ReconcileKind. A run with a completion time stays as it
// finished.
func TestFinishedRunIsFinal(t *testing.T) {
	run := newRun("done", withConfigMapWorkspace("ws", "files"), withParam("results", "approved"), withStarted(epoch), withSucceeded("true"), withCancelled(),
		func(r *v1beta1.CustomRun) { r.Generation, r.Status.ObservedGeneration = 2, 1 })
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if c := condition(got); !got.IsSuccessful() || c.Reason != string(reasons.Materialized) || results(got)["approved"] != "true" {
		t.Errorf("condition %s %s, results %v: want the run Succeeded as it finished", c.Status, c.Reason, results(got))
	}
	if ev := events(e.ctx); len(ev) != 0 {
		t.Errorf("events %q, want none for a finished run", ev)
	}
	// Written back as it finished: no pod, no retry.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/done"}})
}

// TestConfigChangeMidReadUsesThePodsPlan: a reader pod made under a 4Ki
// threshold reports a 5000-byte file without its head; raising the
// threshold to 8Ki mid-read must not publish "" as the whole inline value.
// The attempt finishes with the plan recorded on its pod.
func TestConfigChangeMidReadUsesThePodsPlan(t *testing.T) {
	run := pvcRun()
	pod := readerPod(t, run, corev1.PodSucceeded, time.Second)
	big := strings.Repeat("B", 5000)
	out := protocol.Output{Files: []protocol.FileReport{
		{Path: "flag", Found: true, Size: 4, SHA256: sum("true"), Head: []byte("true")},
		{Path: "blob", Found: true, Size: 5000, SHA256: sum(big)},
	}}
	cfg := map[string]string{"result-size-threshold": "8Ki", "default-on-oversize": "truncate"}
	for k, v := range readerConfig {
		cfg[k] = v
	}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, cfg, logOf(out))
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	if r := results(got); r["blob"] != "blob" || r["blob-inline"] != "false" || r["blob-size"] != "5000" {
		t.Errorf("blob = %q inline %q size %q, want the reference the pod's plan gives", r["blob"], r["blob-inline"], r["blob-size"])
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

// TestStatusTooLarge: a status the API server cannot store fails the run
// with a reason that says why, instead of a status update refused forever.
func TestStatusTooLarge(t *testing.T) {
	// 64 results, each a 16000-byte inline value at a path of 4000 bytes:
	// within every limit of the spec and the config, over what one object
	// holds once the paths appear in the companions and extraFields too.
	var entries []string
	files := map[string]string{}
	for i := range resultmaterialize.MaxResults {
		path := fmt.Sprintf("%s%d", strings.Repeat("p", 4000), i)
		entries = append(entries, fmt.Sprintf(`{"name":"r%d","path":"%s"}`, i, path))
		files[path] = strings.Repeat("v", 16000)
	}
	run := newRun("huge", withConfigMapWorkspace("ws", "files"), withEmbedded(`{"threshold":"1Mi","results":[`+strings.Join(entries, ",")+`]}`))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{configMap("files", files)}}, nil, map[string]string{"max-inline-total": "1Mi"})
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	c := condition(got)
	if !got.IsDone() || c.Reason != string(reasons.StatusTooLarge) || !strings.Contains(c.Message, "64 results") || len(got.Status.Results) != 0 {
		t.Errorf("condition %s %q with %d results, want Failed %s and no results", c.Reason, c.Message, len(got.Status.Results), reasons.StatusTooLarge)
	}
	// One status write, the failure: never the status that cannot be stored.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/huge"}})
}

// TestReaderPodCreateRefused: a permanent refusal of the reader pod fails
// the attempt quoting the API server; an exceeded quota and throttling make
// the run look again.
func TestReaderPodCreateRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		done bool
	}{
		{"pod security", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "pvc-reader-0", errors.New(`violates PodSecurity "restricted:latest"`)), true},
		{"quota", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "pvc-reader-0", errors.New("exceeded quota: compute, requested: cpu=10m")), false},
		{"webhook", apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "pvc-reader-0", nil), true},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := pvcRun()
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
			refuse := true
			e.clients.Kube.PrependReactor("create", "pods", func(ktesting.Action) (bool, runtime.Object, error) { return refuse, nil, tc.err })
			got, err := e.reconcile(t, run.Name)
			if got.IsDone() != tc.done {
				t.Fatalf("done = %v (err %v, condition %+v), want %v", got.IsDone(), err, condition(got), tc.done)
			}
			if !tc.done {
				if err == nil || controller.IsPermanentError(err) {
					t.Errorf("Reconcile() = %v, want the run looked at again", err)
				}
				e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
				refuse = false
				again, _ := e.reconcile(t, run.Name)
				if again.IsDone() || len(podNames(t, e)) != 1 {
					t.Errorf("after the refusal passed: done %v (%+v), pods %v; want the reader pod created and the run running", again.IsDone(), condition(again), podNames(t, e))
				}
				e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
				return
			}
			if c := condition(got); c.Reason != string(reasons.ReaderRefused) || !strings.Contains(c.Message, tc.err.Error()) {
				t.Errorf("condition %s %q, want %s quoting %q", c.Reason, c.Message, reasons.ReaderRefused, tc.err.Error())
			}
			// The refused create, then the failure: nothing to delete.
			e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
		})
	}
}

// TestLongRunName: names at Tekton's 63-character limit give valid pod
// names and labels.
func TestLongRunName(t *testing.T) {
	name := strings.Repeat("a", 60) + "-xy"
	run := newRun(name, withPVC(""), withParam("results", "flag"), withStarted(epoch))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	if _, err := e.reconcile(t, run.Name); err != nil {
		if ok, _ := controller.IsRequeueKey(err); !ok {
			t.Fatalf("Reconcile() = %v", err)
		}
	}
	pods, err := e.clients.Kube.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods %v, err %v: want one", pods, err)
	}
	pod := pods.Items[0]
	if errs := validation.IsDNS1123Label(pod.Name); len(errs) != 0 {
		t.Errorf("pod name %q: %v", pod.Name, errs)
	}
	for k, v := range pod.Labels {
		if errs := validation.IsValidLabelValue(v); len(errs) != 0 {
			t.Errorf("label %s=%q: %v", k, v, errs)
		}
	}
	e.wantWrites(t, writes{Creates: []string{"pods/aaaaaaaaaaaaaaaaaaaaaa3456e8b61fb79e7e06c7f098a1916bfe-reader-0"}, StatusUpdates: []string{"customruns/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-xy"}})
}

// TestReaderLogUnavailable: a log that cannot be read fails the attempt,
// and every read of it has a deadline.
func TestReaderLogUnavailable(t *testing.T) {
	run := pvcRun()
	pod := readerPod(t, run, corev1.PodSucceeded, time.Second)
	var deadline time.Time
	logs := func(ctx context.Context, _ *corev1.Pod, _ int64) (io.ReadCloser, error) {
		deadline, _ = ctx.Deadline()
		return nil, errors.New(`Get "https://node:10250/containerLogs/ns/pvc-reader-0/reader": dial tcp: connect: connection refused`)
	}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig, logs)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if c := condition(got); !got.IsDone() || c.Reason != string(reasons.ReaderLogUnavailable) || !strings.Contains(c.Message, "connection refused") {
		t.Errorf("condition %s %q, want Failed %s", c.Reason, c.Message, reasons.ReaderLogUnavailable)
	}
	if deadline.IsZero() || time.Until(deadline) > workspace.LogTimeout {
		t.Errorf("log read deadline %v, want one within %s", deadline, workspace.LogTimeout)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}, Deletes: []string{"pods/pvc-reader-0"}})
}

// TestUnschedulableReaderIsRetried: a reader pod Pending past
// reader-start-timeout ends the attempt and uses spec.retries.
func TestUnschedulableReaderIsRetried(t *testing.T) {
	run := pvcRun(withRetries(1))
	pod := readerPod(t, run, corev1.PodPending, 2*time.Minute)
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
	got, _ := e.reconcile(t, run.Name)
	if got.IsDone() || len(got.Status.RetriesStatus) != 1 {
		t.Fatalf("done %v with %d retries, want a second attempt", got.IsDone(), len(got.Status.RetriesStatus))
	}
	if c := got.Status.RetriesStatus[0].GetCondition(apis.ConditionSucceeded); c.Reason != string(reasons.ReaderUnschedulable) {
		t.Errorf("first attempt %s, want %s", c.Reason, reasons.ReaderUnschedulable)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}, Deletes: []string{"pods/pvc-reader-0"}})
}

// TestLeftoverPodOfAnEarlierRun: a reader pod left by a deleted CustomRun
// of the same name is removed, and the new run waits for the name instead
// of failing.
func TestLeftoverPodOfAnEarlierRun(t *testing.T) {
	earlier := pvcRun(func(r *v1beta1.CustomRun) { r.UID = "earlier" })
	pod := readerPod(t, earlier, corev1.PodSucceeded, time.Minute)
	run := pvcRun(func(r *v1beta1.CustomRun) { r.UID = "now" })
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
	got, err := e.reconcile(t, run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok || got.IsDone() {
		t.Fatalf("Reconcile() = %v, done %v: want a requeue while the old pod goes", err, got.IsDone())
	}
	if names := podNames(t, e); len(names) != 0 {
		t.Errorf("pods %v, want the earlier run's pod deleted", names)
	}
	e.wantWrites(t, writes{Deletes: []string{"pods/pvc-reader-0"}})
	// The informer sees the deletion, as the API server would tell it.
	if err := fakefilteredpodinformer.Get(e.ctx, workspace.PodSelector).Informer().GetIndexer().Delete(pod); err != nil {
		t.Fatal(err)
	}
	again, err := e.reconcile(t, run.Name)
	if again.IsDone() || len(podNames(t, e)) != 1 {
		t.Errorf("second reconcile: err %v, done %v (%+v), pods %v; want this run's reader pod", err, again.IsDone(), condition(again), podNames(t, e))
	}
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
}

// TestObjectNotYetCached: an object created together with its run, not yet
// in the informer's cache, is read from the API.
func TestObjectNotYetCached(t *testing.T) {
	run := newRun("fresh", withRef("reusable"), withConfigMapWorkspace("ws", "files"))
	files := configMap("files", map[string]string{"flag": "true"})
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	obj := object("reusable", v1alpha1.ResultMaterializeSpec{Results: []v1alpha1.ResultSpec{{Name: "flag"}}})
	if _, err := fakermclient.Get(e.ctx).CustomV1alpha1().ResultMaterializes(ns).Create(e.ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clearActions()
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() || results(got)["flag"] != "true" {
		t.Fatalf("err %v condition %+v results %v: want Succeeded with flag=true", err, condition(got), results(got))
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/fresh"}})
}

// TestPlanTooLargeFailsBeforeTheCreate: the plan recorded on the reader pod
// is checked before the create: 32 optional results with 8 KiB defaults
// would exceed the API server's 256 KiB for a pod's annotations, which no
// retry can fix.
func TestPlanTooLargeFailsBeforeTheCreate(t *testing.T) {
	var entries []string
	for i := range 32 {
		entries = append(entries, fmt.Sprintf(`{"name":"r%d","optional":true,"default":"%s"}`, i, strings.Repeat("d", resultmaterialize.MaxDefaultLength)))
	}
	run := newRun("plan", withPVC(""), withEmbedded(`{"results":[`+strings.Join(entries, ",")+`]}`), withRetries(2), withStarted(epoch))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	c := condition(got)
	if !got.IsDone() || c.Reason != string(reasons.PlanTooLarge) || len(got.Status.RetriesStatus) != 0 {
		t.Fatalf("condition %s %q after %d retries, want Failed %s at once", c.Reason, c.Message, len(got.Status.RetriesStatus), reasons.PlanTooLarge)
	}
	if !strings.Contains(c.Message, "the plan of 32 results") || !strings.Contains(c.Message, fmt.Sprintf("bytes, above the %d bytes", workspace.MaxPlanBytes)) {
		t.Errorf("message %q, want the results, the size and the limit", c.Message)
	}
	// No create is sent for a pod that can never be stored.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/plan"}})
}

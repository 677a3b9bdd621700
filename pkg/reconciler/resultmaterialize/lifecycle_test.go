package resultmaterialize

import (
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/controller"
)

func TestReconcileCancelled(t *testing.T) {
	run := newRun("c", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"), withStarted(epoch), withCancelled())
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatal(err)
	}
	c := condition(got)
	if got.IsSuccessful() || c.Reason != string(reasons.Cancelled) || !strings.Contains(c.Message, "PipelineRun it belongs to has been cancelled") {
		t.Errorf("condition = %+v, want Failed %s with the cancel message", c, reasons.Cancelled)
	}
	if len(got.Status.Results) != 0 {
		t.Errorf("a cancelled run has results %v", got.Status.Results)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/c"}})
}

func TestReconcileTimedOut(t *testing.T) {
	run := newRun("t", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"),
		withTimeout(time.Minute), withStarted(epoch.Add(-2*time.Minute)))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatal(err)
	}
	c := condition(got)
	if got.IsSuccessful() || c.Reason != string(reasons.TimedOut) || !strings.Contains(c.Message, "timeout of 1m0s") {
		t.Errorf("condition = %+v, want Failed %s naming the timeout", c, reasons.TimedOut)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/t"}})
}

func TestReconcileNilTimeoutUsesTektonDefault(t *testing.T) {
	// A CustomRun from a PipelineRun has no timeout unless the pipeline
	// task sets one; Tekton's default of 60 minutes applies.
	run := newRun("nil", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"), withStarted(epoch.Add(-59*time.Minute)))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v, condition %+v: want Succeeded within the default timeout", err, condition(got))
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/nil"}})
}

func TestReconcileTimeoutRetries(t *testing.T) {
	run := newRun("rt", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"),
		withTimeout(time.Minute), withRetries(1), withStarted(epoch.Add(-2*time.Minute)))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok {
		t.Fatalf("Reconcile() = %v, want an immediate requeue for the retry", err)
	}
	if got.IsDone() || len(got.Status.RetriesStatus) != 1 {
		t.Fatalf("done %v with %d retries, want running with 1 retry recorded", got.IsDone(), len(got.Status.RetriesStatus))
	}
	prev := got.Status.RetriesStatus[0].GetCondition("Succeeded")
	if prev.Reason != string(reasons.TimedOut) || !got.Status.StartTime.Time.Equal(epoch) {
		t.Errorf("retry status %+v, start %v: want the timed-out attempt kept and a new start at %v", prev, got.Status.StartTime, epoch)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/rt"}})
	got, err = e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() || len(got.Status.RetriesStatus) != 1 {
		t.Fatalf("second attempt: err %v, condition %+v, retries %d; want Succeeded after 1 retry", err, condition(got), len(got.Status.RetriesStatus))
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/rt"}})
}

func TestReconcileDoneIsLeftAlone(t *testing.T) {
	run := newRun("done", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"))
	run.Status.StartTime = &metav1.Time{Time: epoch}
	run.Status.MarkCustomRunFailed("Whatever", "finished earlier")
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil || condition(got).Reason != "Whatever" || len(got.Status.Results) != 0 {
		t.Errorf("err %v, condition %+v: a done run must not change", err, condition(got))
	}
	e.wantWrites(t, writes{})
}

func TestReconcileConfigChange(t *testing.T) {
	run := newRun("cfg", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	// The live store, not the one the controller started with, decides.
	e.store.OnConfigChanged(materializeConfig(map[string]string{"result-size-threshold": "2"}))
	e.store.OnConfigChanged(materializeConfig(map[string]string{"result-size-threshold": "4KB"}))
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatal(err)
	}
	if r := results(got); r["flag"] != "flag" || r["flag-inline"] != "false" {
		t.Errorf("flag = %q inline %q, want a reference under the new 2-byte threshold", r["flag"], r["flag-inline"])
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/cfg"}})
}

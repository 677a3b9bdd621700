package resultmaterialize

import (
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/workspace"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ktesting "k8s.io/client-go/testing"
	"knative.dev/pkg/controller"
)

// rejectStaleUpdates makes the fake API server refuse an update of a
// CustomRun whose resourceVersion is not the stored one, as a real one
// does.
func rejectStaleUpdates(t *testing.T, e *env) {
	t.Helper()
	e.clients.Pipeline.PrependReactor("update", "customruns", func(action ktesting.Action) (bool, runtime.Object, error) {
		run := action.(ktesting.UpdateAction).GetObject().(*v1beta1.CustomRun)
		stored, err := e.clients.Pipeline.Tracker().Get(v1beta1.SchemeGroupVersion.WithResource("customruns"), run.Namespace, run.Name)
		if err == nil && run.ResourceVersion != "" && stored.(*v1beta1.CustomRun).ResourceVersion != run.ResourceVersion {
			return true, nil, apierrors.NewConflict(v1beta1.Resource("customruns"), run.Name, nil)
		}
		return false, nil, nil
	})
}

// finishElsewhere records the run as finished on the API server, as the
// replica that held its bucket did, and leaves the informer with the
// older copy.
func finishElsewhere(t *testing.T, e *env, name string) {
	t.Helper()
	older, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newer := older.DeepCopy()
	newer.Status.InitializeConditions()
	newer.Status.MarkCustomRunSucceeded("Materialized", "done by the replica that held the bucket")
	newer.Status.CompletionTime = &metav1.Time{Time: epoch}
	newer.Status.Results = []v1beta1.CustomRunResult{{Name: "flag", Value: "from the other replica"}}
	newer.Status.ExtraFields.Raw = []byte(`{"readerPod":"` + name + `-reader-0"}`)
	if _, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).UpdateStatus(e.ctx, newer, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.runs.Update(older); err != nil {
		t.Fatal(err)
	}
}

// TestStaleCopyNeverOverwritesAFinishedRun: a replica that just took the
// bucket over holds a copy from before the run even started.
func TestStaleCopyNeverOverwritesAFinishedRun(t *testing.T) {
	run := newRun("cm", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	rejectStaleUpdates(t, e)
	finishElsewhere(t, e, run.Name)
	e.clearActions()
	err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok && !apierrors.IsConflict(err) {
		t.Fatalf("Reconcile() = %v, want a requeue or a conflict, to see the newer run", err)
	}
	got, _ := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if !got.IsSuccessful() || got.Status.CompletionTime == nil || len(got.Status.Results) != 1 || got.Status.Results[0].Value != "from the other replica" {
		t.Errorf("the finished run was overwritten: conditions %+v results %+v", got.Status.Conditions, got.Status.Results)
	}
	// The write from the stale copy is sent and refused; nothing else.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/cm"}})
}

// TestStaleCopyMakesNoSecondReaderPod: a replica that just took the run's
// bucket over holds a copy from before the first attempt's pod was
// recorded; that pod was since read and deleted, and the run finished.
func TestStaleCopyMakesNoSecondReaderPod(t *testing.T) {
	run := pvcRun()
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	rejectStaleUpdates(t, e)
	finishElsewhere(t, e, run.Name)
	e.clearActions()
	err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok {
		t.Fatalf("Reconcile() = %v, want a requeue to see the newer run", err)
	}
	if names := podNames(t, e); len(names) != 0 {
		t.Errorf("reader pods %v made from a stale copy of a finished run, want none", names)
	}
	got, _ := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if !got.IsSuccessful() {
		t.Errorf("the finished run was overwritten: %+v", got.Status.Conditions)
	}
	// No pod and no status write from a stale copy.
	e.wantWrites(t, writes{})
}

// TestWriteStatusConflictKeepsNewerCopy: the status write alone, with no
// staleness check before it, never overwrites a newer copy.
func TestWriteStatusConflictKeepsNewerCopy(t *testing.T) {
	run := pvcRun()
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	rejectStaleUpdates(t, e)
	older, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	finishElsewhere(t, e, run.Name)
	e.clearActions()
	before := older.Status.DeepCopy()
	older.Status.ExtraFields.Raw = []byte(`{"readerPod":"pvc-reader-1"}`)
	r := &Reconciler{pipeline: e.clients.Pipeline}
	if err := r.writeStatus(e.ctx, older, before); !apierrors.IsConflict(err) {
		t.Fatalf("writeStatus() = %v, want the conflict returned for the work queue to retry", err)
	}
	got, _ := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if !got.IsSuccessful() || string(got.Status.ExtraFields.Raw) != `{"readerPod":"pvc-reader-0"}` {
		t.Errorf("the newer copy was overwritten: conditions %+v extraFields %s", got.Status.Conditions, got.Status.ExtraFields.Raw)
	}
	// One write, refused; no second try over the newer copy.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

// TestCleanupRemovesEveryAttemptsPod: a pod of an earlier attempt (made by
// a replica that had lost the bucket) goes with the run's current one.
func TestCleanupRemovesEveryAttemptsPod(t *testing.T) {
	run := pvcRun(withRetries(1))
	run.Status.RetriesStatus = []v1beta1.CustomRunStatus{{}}
	run.Status.MarkCustomRunSucceeded("Materialized", "done")
	run.Status.CompletionTime = &metav1.Time{Time: epoch}
	current := readerPod(t, run, corev1.PodSucceeded, time.Second)
	older := current.DeepCopy()
	older.Name, older.Labels[workspace.AttemptLabel], older.Status.Phase = "pvc-reader-0", "0", corev1.PodRunning
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{current, older}}, nil, readerConfig)
	if _, err := e.reconcile(t, run.Name); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if names := podNames(t, e); len(names) != 0 {
		t.Errorf("pods left after the run was seen done: %v, want none of any attempt", names)
	}
	e.wantWrites(t, writes{Deletes: []string{"pods/pvc-reader-0", "pods/pvc-reader-1"}})
}

// TestNothingReportedWhenTheWriteConflicts: Events and outcome metrics go
// out only with the status they describe; a conflicting write drops them,
// and the reconcile of the newer copy reports once.
func TestNothingReportedWhenTheWriteConflicts(t *testing.T) {
	run := newRun("cm", withConfigMapWorkspace("ws", "files"), withParam("results", "flag"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	e.clients.Pipeline.PrependReactor("update", "customruns", func(ktesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(v1beta1.Resource("customruns"), run.Name, nil)
	})
	if err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name); !apierrors.IsConflict(err) {
		t.Fatalf("Reconcile() = %v, want the conflict", err)
	}
	if evs := events(e.ctx); len(evs) != 0 {
		t.Errorf("events %q sent for a status that was never written", evs)
	}
	for k, v := range sums(t, e) {
		if strings.HasPrefix(k, "resultmaterialize_runs") || strings.HasPrefix(k, "resultmaterialize_results") {
			t.Errorf("metric %s = %d counted for a status that was never written", k, v)
		}
	}
	// The one refused status write, and nothing after it.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/cm"}})
}

// TestStaleCleanupSparesALaterAttempt: a copy still at attempt 0 that
// cleans up (cancelled, or moving on) leaves the pod a newer copy made
// for attempt 1.
func TestStaleCleanupSparesALaterAttempt(t *testing.T) {
	run := pvcRun(withRetries(2), withCancelled())
	later := readerPod(t, run, corev1.PodRunning, time.Second)
	later.Name, later.Labels[workspace.AttemptLabel] = "pvc-reader-1", "1"
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{later}}, nil, readerConfig)
	if _, err := e.reconcile(t, run.Name); err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if names := podNames(t, e); len(names) != 1 || names[0] != "pvc-reader-1" {
		t.Errorf("pods %v, want the later attempt's pvc-reader-1 kept", names)
	}
	// The cancel is written and no pod is deleted.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

// TestStaleCopyDeletesNoReaderPod: the run was deleted and made again
// under its name, and the new run made its reader pod; a replica whose
// cache still holds the earlier run finds that pod owned by another run.
// Only the newest copy may delete a leftover, so this one deletes nothing.
func TestStaleCopyDeletesNoReaderPod(t *testing.T) {
	recorded := func(r *v1beta1.CustomRun) {
		r.Status.ExtraFields.Raw = []byte(`{"readerPod":"pvc-reader-0","workspace":"ws"}`)
	}
	newer := pvcRun(recorded, func(r *v1beta1.CustomRun) { r.UID, r.ResourceVersion = "now", "2" })
	pod := readerPod(t, newer, corev1.PodRunning, time.Second)
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{newer}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
	rejectStaleUpdates(t, e)
	older := pvcRun(recorded, func(r *v1beta1.CustomRun) { r.UID, r.ResourceVersion = "earlier", "1" })
	if err := e.runs.Update(older); err != nil {
		t.Fatal(err)
	}
	err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+older.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok {
		t.Fatalf("Reconcile() = %v, want a requeue to see the newer run", err)
	}
	// A stale copy deletes nothing and writes nothing.
	e.wantWrites(t, writes{})
	if names := podNames(t, e); len(names) != 1 {
		t.Errorf("pods %v, want the newer run's reader pod kept", names)
	}
}

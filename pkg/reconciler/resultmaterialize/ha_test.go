package resultmaterialize

import (
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/controller"
)

// TestStaleCopyMakesNoSecondReaderPod: a replica that just took the run's
// bucket over holds a copy from before the first attempt's pod was
// recorded; that pod was since read and deleted, and the run finished.
func TestStaleCopyMakesNoSecondReaderPod(t *testing.T) {
	run := pvcRun()
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	older, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newer := older.DeepCopy()
	newer.Status.MarkCustomRunSucceeded("Materialized", "done by the replica that held the bucket")
	newer.Status.CompletionTime = &metav1.Time{Time: epoch}
	newer.Status.ExtraFields.Raw = []byte(`{"readerPod":"pvc-reader-0"}`)
	if _, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).UpdateStatus(e.ctx, newer, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.runs.Update(older); err != nil {
		t.Fatal(err)
	}
	err = e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name)
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
}

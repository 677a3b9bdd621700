package resultmaterialize

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ktesting "k8s.io/client-go/testing"
	fakefilteredpodinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered/fake"
	"knative.dev/pkg/controller"
)

// wantWaiting fails unless the run is still running and its condition
// says it waits on reason, in words that contain words.
func wantWaiting(t *testing.T, run *v1beta1.CustomRun, reason reasons.Reason, words string) {
	t.Helper()
	c := condition(run)
	if run.IsDone() || !c.IsUnknown() || c.Reason != string(reason) || !strings.Contains(c.Message, words) {
		t.Fatalf("condition %s %s %q, want Unknown %s containing %q", c.Status, c.Reason, c.Message, reason, words)
	}
}

var quotaRefusal = apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "pvc-reader-0",
	errors.New("exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0"))

// A namespace ResourceQuota of 0 pods: the run says it waits on the quota,
// in the API server's words, writes that once however often it looks
// again, and its timeout names the quota.
func TestQuotaRefusalShowsOnTheRunAndItsTimeout(t *testing.T) {
	run := pvcRun(withTimeout(time.Minute))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	e.clients.Kube.PrependReactor("create", "pods", func(ktesting.Action) (bool, runtime.Object, error) { return true, nil, quotaRefusal })

	got, err := e.reconcile(t, run.Name)
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.RefusedRecheck {
		t.Fatalf("Reconcile() = %v, want a look again in %s", err, workspace.RefusedRecheck)
	}
	wantWaiting(t, got, reasons.ReaderQuotaExceeded, quotaRefusal.Error())
	if evs := events(e.ctx); len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning ReaderQuotaExceeded ") || !strings.Contains(evs[0], "exceeded quota: no-pods") {
		t.Errorf("events %q, want one Warning ReaderQuotaExceeded quoting the API server", evs)
	}
	// The refused create is sent; the wait is written once.
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})

	for i := 1; i <= 3; i++ {
		e.clock.SetTime(epoch.Add(time.Duration(i) * workspace.RefusedRecheck))
		got, err = e.reconcile(t, run.Name)
		if ok, _ := controller.IsRequeueKey(err); !ok {
			t.Fatalf("look %d: Reconcile() = %v, want a requeue", i, err)
		}
		wantWaiting(t, got, reasons.ReaderQuotaExceeded, quotaRefusal.Error())
	}
	// Three more looks at an unchanged refusal try the pod again and
	// write no status.
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0", "pods/pvc-reader-0", "pods/pvc-reader-0"}})
	if evs := events(e.ctx); len(evs) != 0 {
		t.Errorf("events %q for a cause already reported, want none", evs)
	}

	// The last look is bounded by the timeout, not a whole recheck later.
	e.clock.SetTime(epoch.Add(55 * time.Second))
	if _, err := e.reconcile(t, run.Name); err == nil {
		t.Fatal("Reconcile() = nil, want a requeue")
	} else if ok, after := controller.IsRequeueKey(err); !ok || after != 5*time.Second {
		t.Errorf("Reconcile() = %v, want a look again when the timeout expires, in 5s", err)
	}
	e.clock.SetTime(epoch.Add(time.Minute + time.Second))
	got, err = e.reconcile(t, run.Name)
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	c := condition(got)
	if !got.IsDone() || c.Reason != string(reasons.TimedOut) || !strings.Contains(c.Message, "timeout of 1m0s; it was waiting on ReaderQuotaExceeded: ") ||
		!strings.Contains(c.Message, quotaRefusal.Error()) {
		t.Errorf("condition %s %q, want Failed %s naming the quota in the API server's words", c.Reason, c.Message, reasons.TimedOut)
	}
	if names := podNames(t, e); len(names) != 0 {
		t.Errorf("pods %v, want none", names)
	}
	// The look at 55s tries the pod again; the timeout writes the status.
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
}

// Once the quota lets the pod be made, the run reads again.
func TestQuotaWaitEndsWhenThePodIsMade(t *testing.T) {
	run := pvcRun()
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	refuse := true
	e.clients.Kube.PrependReactor("create", "pods", func(ktesting.Action) (bool, runtime.Object, error) { return refuse, nil, quotaRefusal })
	got, _ := e.reconcile(t, run.Name)
	wantWaiting(t, got, reasons.ReaderQuotaExceeded, "exceeded quota")
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
	refuse = false
	got, err := e.reconcile(t, run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok {
		t.Fatalf("Reconcile() = %v, want a requeue while the reader pod works", err)
	}
	if c := condition(got); c.Reason != string(reasons.Running) || c.Message != readingMessage || len(podNames(t, e)) != 1 {
		t.Errorf("condition %s %q, pods %v: want Running %q and the reader pod", c.Reason, c.Message, podNames(t, e), readingMessage)
	}
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
}

// An admission webhook that times out is tried again, and said so.
func TestAdmissionRetryShowsOnTheRun(t *testing.T) {
	run := pvcRun()
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	refusal := apierrors.NewInternalError(errors.New(`failed calling webhook "pods.policy.example.com": failed to call webhook: context deadline exceeded`))
	e.clients.Kube.PrependReactor("create", "pods", func(ktesting.Action) (bool, runtime.Object, error) { return true, nil, refusal })
	got, err := e.reconcile(t, run.Name)
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.RefusedRecheck {
		t.Fatalf("Reconcile() = %v, want a look again in %s", err, workspace.RefusedRecheck)
	}
	wantWaiting(t, got, reasons.ReaderCreateRetrying, refusal.Error())
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
}

// unschedulable marks the pod as the scheduler does when it cannot place
// it.
func unschedulable(pod *corev1.Pod, message string) *corev1.Pod {
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: message}}
	return pod
}

func waitingContainer(pod *corev1.Pod, reason, message string) *corev1.Pod {
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "reader", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	return pod
}

func TestWaitingReaderPodShowsOnTheRun(t *testing.T) {
	const unbound = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	for _, tc := range []struct {
		name   string
		pod    func(*v1beta1.CustomRun) *corev1.Pod
		reason reasons.Reason
		words  string
		after  time.Duration
	}{
		{name: "unbound volume", pod: func(r *v1beta1.CustomRun) *corev1.Pod {
			return unschedulable(readerPod(t, r, corev1.PodPending, 2*time.Second), unbound)
		}, reason: reasons.ReaderPending, words: `reader pod "pvc-reader-0" is Pending: Unschedulable: ` + unbound, after: 58 * time.Second},
		{name: "image not pulled", pod: func(r *v1beta1.CustomRun) *corev1.Pod {
			return waitingContainer(readerPod(t, r, corev1.PodPending, 2*time.Second), "ImagePullBackOff", `Back-off pulling image "registry.example/reader@sha256:0123"`)
		}, reason: reasons.ReaderPending, words: `ImagePullBackOff: Back-off pulling image`, after: 58 * time.Second},
		{name: "ordinary start past the quiet time", pod: func(r *v1beta1.CustomRun) *corev1.Pod {
			return waitingContainer(readerPod(t, r, corev1.PodPending, workspace.QuietStart), "ContainerCreating", "")
		}, reason: reasons.ReaderPending, words: `reader pod "pvc-reader-0" is Pending: ContainerCreating`, after: time.Minute - workspace.QuietStart},
		{name: "node stopped reporting", pod: func(r *v1beta1.CustomRun) *corev1.Pod {
			pod := readerPod(t, r, corev1.PodUnknown, 30*time.Second)
			pod.Status.Reason, pod.Status.Message = "NodeLost", "Node node-1 which was running pod pvc-reader-0 is unresponsive"
			return pod
		}, reason: reasons.ReaderStatusUnknown, words: `is Unknown and its node has not reported the reader container running or finished (NodeLost: Node node-1`, after: 3*time.Minute + 30*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := pvcRun()
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{tc.pod(run)}}, nil, readerConfig)
			got, err := e.reconcile(t, run.Name)
			if ok, after := controller.IsRequeueKey(err); !ok || after != tc.after {
				t.Fatalf("Reconcile() = %v, want a look again in %s", err, tc.after)
			}
			wantWaiting(t, got, tc.reason, tc.words)
			if evs := events(e.ctx); len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning "+string(tc.reason)+" ") {
				t.Errorf("events %q, want one Warning %s", evs, tc.reason)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
			// A look at an unchanged pod writes nothing.
			if _, err := e.reconcile(t, run.Name); err == nil {
				t.Fatal("Reconcile() = nil, want a requeue")
			}
			e.wantWrites(t, writes{})
		})
	}
}

// A pending reader pod: the run says so with the scheduler's words, and
// reads again once the pod runs.
func TestPendingReaderPodWaitEndsWhenItRuns(t *testing.T) {
	run := pvcRun()
	pod := unschedulable(readerPod(t, run, corev1.PodPending, 5*time.Second), "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: ci}.")
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig, rawLog(`{"files":[`))
	got, _ := e.reconcile(t, run.Name)
	wantWaiting(t, got, reasons.ReaderPending, "untolerated taint {dedicated: ci}")
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})

	running := runningPod(t, run)
	if err := fakefilteredpodinformer.Get(e.ctx, workspace.PodSelector).Informer().GetIndexer().Update(running); err != nil {
		t.Fatal(err)
	}
	got, err := e.reconcile(t, run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok {
		t.Fatalf("Reconcile() = %v, want a requeue while the reader prints", err)
	}
	if c := condition(got); got.IsDone() || c.Reason != string(reasons.Running) || c.Message != readingMessage {
		t.Errorf("condition %s %q, want Running %q", c.Reason, c.Message, readingMessage)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

// A reader pod starting as pods do is not reported before QuietStart: no
// status write for what is no wait at all.
func TestOrdinaryStartIsQuiet(t *testing.T) {
	run := pvcRun()
	pod := waitingContainer(readerPod(t, run, corev1.PodPending, 2*time.Second), "ContainerCreating", "")
	run.Status.ExtraFields.Raw = []byte(`{"readerPod":"pvc-reader-0","workspace":"ws"}`)
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
	got, err := e.reconcile(t, run.Name)
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.QuietStart-2*time.Second {
		t.Fatalf("Reconcile() = %v, want a look again at the end of the quiet time", err)
	}
	if c := condition(got); c.Reason != string(reasons.Running) {
		t.Errorf("condition %s %q: want it unchanged", c.Reason, c.Message)
	}
	// Unwritten: no status update for what is no wait at all.
	e.wantWrites(t, writes{})
	e.clock.SetTime(epoch.Add(workspace.QuietStart))
	got, _ = e.reconcile(t, run.Name)
	wantWaiting(t, got, reasons.ReaderPending, "ContainerCreating")
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

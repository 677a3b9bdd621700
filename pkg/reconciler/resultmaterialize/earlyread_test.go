package resultmaterialize

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/controller"
)

// runningPod is a reader pod whose container the kubelet reports running:
// it may have printed its document already.
func runningPod(t *testing.T, run *v1beta1.CustomRun) *corev1.Pod {
	t.Helper()
	pod := readerPod(t, run, corev1.PodRunning, 2*time.Second)
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "reader", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	return pod
}

func completeOutput() protocol.Output {
	return protocol.Output{Files: []protocol.FileReport{
		{Path: "flag", Found: true, Size: 4, SHA256: sum("true"), Head: []byte("true")},
		{Path: "blob", Found: true, Size: 3, SHA256: sum("abc"), Head: []byte("abc")},
	}}
}

func TestReaderPodReadWhileRunning(t *testing.T) {
	for name, pod := range map[string]func(*v1beta1.CustomRun) *corev1.Pod{
		"running": func(run *v1beta1.CustomRun) *corev1.Pod { return runningPod(t, run) },
		// The kubelet often shows the container terminated while the
		// pod is still Pending, a second before the pod Succeeded.
		"terminated, pod still Pending": func(run *v1beta1.CustomRun) *corev1.Pod {
			pod := readerPod(t, run, corev1.PodPending, 2*time.Second)
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "reader", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}
			return pod
		},
	} {
		t.Run(name, func(t *testing.T) {
			run := pvcRun()
			e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod(run)}}, nil, readerConfig, logOf(completeOutput()))
			got, err := e.reconcile(t, run.Name)
			if err != nil || !got.IsSuccessful() {
				t.Fatalf("err %v condition %+v: a complete document in the log is the answer", err, condition(got))
			}
			if r := results(got); r["flag"] != "true" || r["blob"] != "abc" {
				t.Errorf("results %v, want flag true and blob abc", r)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
		})
	}
}

func TestReaderPodPartialOutputWaits(t *testing.T) {
	full := `{"files":[{"path":"flag","found":true,"size":4,"sha256":"` + sum("true") + `","head":"dHJ1ZQ=="}`
	for name, log := range map[string]string{
		"one of two reports": full,
		"cut mid-report":     full[:len(full)/2],
		"nothing yet":        "",
		"no closing brace":   full + `,{"path":"blob","found":true,"size":3,"sha256":"` + sum("abc") + `","head":"YWJj"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			run := pvcRun()
			e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{runningPod(t, run)}}, nil, readerConfig, rawLog(log))
			got, err := e.reconcile(t, run.Name)
			if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.EarlyReadInterval {
				t.Fatalf("Reconcile() = %v, want a look again in %s", err, workspace.EarlyReadInterval)
			}
			if c := got.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsUnknown() || len(got.Status.Results) != 0 {
				t.Errorf("condition %+v results %v: a partial document must never be taken or fail the run", c, got.Status.Results)
			}
			// The run records its pod and waits; it creates nothing.
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
		})
	}
}

func TestReaderPodNotStartedIsNotRead(t *testing.T) {
	run := pvcRun()
	pod := readerPod(t, run, corev1.PodPending, time.Second)
	var reads atomic.Int32
	logs := func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
		reads.Add(1)
		return io.NopCloser(strings.NewReader("")), nil
	}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig, logs)
	if _, err := e.reconcile(t, run.Name); err == nil {
		t.Fatal("Reconcile() = nil, want a requeue while the pod is Pending")
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("%d log reads of a pod whose container has not started, want 0", n)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

func exitedPod(t *testing.T, run *v1beta1.CustomRun, code int32) *corev1.Pod {
	t.Helper()
	pod := readerPod(t, run, corev1.PodPending, 2*time.Second)
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "reader", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: code}}}}
	return pod
}

func TestReaderPodExitedBeforeItsPhase(t *testing.T) {
	for name, tc := range map[string]struct {
		pod    func(*v1beta1.CustomRun) *corev1.Pod
		log    string
		reason string
	}{
		"exit code 2":                         {pod: func(r *v1beta1.CustomRun) *corev1.Pod { return exitedPod(t, r, 2) }, log: "", reason: "ReaderFailed"},
		"exit 0, partial output":              {pod: func(r *v1beta1.CustomRun) *corev1.Pod { return exitedPod(t, r, 0) }, log: `{"files":[`, reason: "ReaderOutputInvalid"},
		"no container shown, past both times": {pod: func(r *v1beta1.CustomRun) *corev1.Pod { return readerPod(t, r, corev1.PodRunning, time.Hour) }, reason: "ReaderFailed"},
		"phase Unknown, past both times":      {pod: func(r *v1beta1.CustomRun) *corev1.Pod { return readerPod(t, r, corev1.PodUnknown, time.Hour) }, reason: "ReaderFailed"},
		"running past both times": {pod: func(r *v1beta1.CustomRun) *corev1.Pod {
			p := runningPod(t, r)
			p.CreationTimestamp.Time = epoch.Add(-time.Hour)
			return p
		}, log: "", reason: "ReaderFailed"},
	} {
		t.Run(name, func(t *testing.T) {
			run := pvcRun()
			e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{tc.pod(run)}}, nil, readerConfig, rawLog(tc.log))
			got, err := e.reconcile(t, run.Name)
			if err != nil {
				t.Fatalf("Reconcile() = %v", err)
			}
			if c := got.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsFalse() || c.Reason != tc.reason || !strings.Contains(c.Message, "pvc-reader-0") {
				t.Errorf("condition %+v, want Failed %s naming the pod", c, tc.reason)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}, Deletes: []string{"pods/pvc-reader-0"}})
		})
	}
}

func TestReaderPodLogReadAtMostOncePerSecond(t *testing.T) {
	run := pvcRun()
	var reads atomic.Int32
	logs := func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
		reads.Add(1)
		return io.NopCloser(strings.NewReader(`{"files":[`)), nil
	}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{runningPod(t, run)}}, nil, readerConfig, logs)
	for range 3 {
		// Pod updates enqueue the run as often as they come.
		err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name)
		if ok, after := controller.IsRequeueKey(err); !ok || after <= 0 || after > workspace.EarlyReadInterval {
			t.Fatalf("Reconcile() = %v, want a look again within %s", err, workspace.EarlyReadInterval)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("%d log reads in three reconciles within a second, want 1", n)
	}
	e.clock.SetTime(epoch.Add(workspace.EarlyReadInterval))
	if err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name); err == nil {
		t.Fatal("Reconcile() = nil, want a requeue while the document is partial")
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d log reads after a second passed, want 2", n)
	}
	// The first look records the pod; later looks at the same partial
	// document write nothing.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

func TestReaderPodLogErrorBacksOff(t *testing.T) {
	run := pvcRun()
	logs := func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
		return nil, errors.New("kubelet does not answer")
	}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{runningPod(t, run)}}, nil, readerConfig, logs)
	err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name)
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.PeekBackoff {
		t.Fatalf("Reconcile() = %v, want a look again in %s", err, workspace.PeekBackoff)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

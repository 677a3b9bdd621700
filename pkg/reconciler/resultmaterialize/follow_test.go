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
	"knative.dev/pkg/controller"
)

// followedEnv is a run whose reader runs and has printed part of its
// document: a one-shot read gets what the log holds, a followed one gets
// a stream the test writes the rest of the document into.
type followedEnv struct {
	*env
	run    *v1beta1.CustomRun
	log    atomic.Value
	reads  atomic.Int32
	writer *io.PipeWriter
	opened chan struct{}
}

func newFollowedEnv(t *testing.T, follows int) *followedEnv {
	t.Helper()
	whole := printed(t)
	f := &followedEnv{run: pvcRun(), opened: make(chan struct{}, 8)}
	f.log.Store(whole[:len(whole)/2])
	pr, pw := io.Pipe()
	f.writer = pw
	t.Cleanup(func() { _ = pw.Close() })
	logs := func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
		f.reads.Add(1)
		return io.NopCloser(strings.NewReader(f.log.Load().(string))), nil
	}
	follow := func(ctx context.Context, _ *corev1.Pod, _ int64) (io.ReadCloser, error) {
		go func() {
			// What the log holds so far comes first; opened says it was read.
			_, _ = io.WriteString(pw, f.log.Load().(string))
			f.opened <- struct{}{}
			<-ctx.Done()
			pw.CloseWithError(ctx.Err())
		}()
		return pr, nil
	}
	f.env = newEnvWithDeps(t, test.Data{CustomRuns: []*v1beta1.CustomRun{f.run}, Pods: []*corev1.Pod{runningPod(t, f.run)}}, nil, readerConfig,
		deps{logs: logs, follow: follow, follows: follows})
	return f
}

// printed is completeOutput as the reader prints it.
func printed(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	w := protocol.NewWriter(&b)
	for _, rep := range completeOutput().Files {
		if err := w.Write(rep); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func (f *followedEnv) reconcileErr() error {
	return f.impl.Reconciler.Reconcile(f.ctx, ns+"/"+f.run.Name)
}

// woken waits until the run is on the work queue, put there by something
// other than a reconcile's requeue.
func (f *followedEnv) woken(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.impl.WorkQueue().Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the run was not woken within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReaderPodLogFollowedWakesTheRun(t *testing.T) {
	f := newFollowedEnv(t, 1)
	err := f.reconcileErr()
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.LogTimeout {
		t.Fatalf("Reconcile() = %v, want a wait on the followed log", err)
	}
	<-f.opened
	// While the log is followed, reconciles (pod updates) read nothing;
	// the clock stays within the first read's second throughout.
	if err := f.reconcileErr(); err == nil {
		t.Fatal("Reconcile() = nil while the document is partial")
	}
	if n := f.reads.Load(); n != 1 {
		t.Errorf("%d log reads, want 1: the followed stream says when to read again", n)
	}
	if f.impl.WorkQueue().Len() != 0 {
		t.Fatal("the run was woken before its document ended")
	}
	whole := printed(t)
	rest := whole[len(f.log.Load().(string)):]
	if _, err := io.WriteString(f.writer, rest[:len(rest)-1]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if f.impl.WorkQueue().Len() != 0 {
		t.Fatal("the run was woken before the document's last newline")
	}
	f.log.Store(whole)
	if _, err := io.WriteString(f.writer, "\n"); err != nil {
		t.Fatal(err)
	}
	f.woken(t)
	got, err := f.reconcile(t, f.run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("Reconcile() = %v, condition %+v: the woken run must read the whole document", err, condition(got))
	}
	if r := results(got); r["flag"] != "true" || r["blob"] != "abc" {
		t.Errorf("results %v, want flag true and blob abc", r)
	}
}

func TestReaderPodLogFollowRefusedBacksOff(t *testing.T) {
	f := newFollowedEnv(t, 1)
	if err := f.reconcileErr(); err == nil {
		t.Fatal("Reconcile() = nil while the document is partial")
	}
	<-f.opened
	f.writer.CloseWithError(errors.New("stream reset by the kubelet"))
	f.woken(t)
	// The stream is let go, and a refused stream backs off as a refused
	// read does: then the log is read once more and followed again.
	err := f.reconcileErr()
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.PeekBackoff || f.reads.Load() != 1 {
		t.Fatalf("Reconcile() = %v after %d reads, want a look again in %s and no read yet", err, f.reads.Load(), workspace.PeekBackoff)
	}
	f.clock.SetTime(epoch.Add(workspace.PeekBackoff))
	deadline := time.Now().Add(10 * time.Second)
	for f.reads.Load() < 2 {
		if err := f.reconcileErr(); err == nil {
			t.Fatal("Reconcile() = nil while the document is partial")
		}
		if time.Now().After(deadline) {
			t.Fatal("the log was not read again after its followed stream failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A document that ends but is not taken (here it reports one file of the
// two asked for) is read again once a second, never followed again: a
// follow that ends at once must not wake its run in a loop.
func TestReaderPodLogEndedButInvalidIsNotFollowedAgain(t *testing.T) {
	f := newFollowedEnv(t, 1)
	whole := printed(t)
	wrong := protocol.DocumentStart + whole[len(protocol.DocumentStart):strings.Index(whole, "\n")+1] + "]}\n"
	f.log.Store(wrong)
	if err := f.reconcileErr(); err == nil {
		t.Fatal("Reconcile() = nil for a document of the wrong length")
	}
	<-f.opened
	f.woken(t)
	for range 3 {
		err := f.reconcileErr()
		if ok, after := controller.IsRequeueKey(err); !ok || after <= 0 || after > workspace.EarlyReadInterval {
			t.Fatalf("Reconcile() = %v, want a look again within %s", err, workspace.EarlyReadInterval)
		}
		f.clock.SetTime(f.clock.Now().Add(workspace.EarlyReadInterval))
	}
	select {
	case <-f.opened:
		t.Error("the log of a pod whose document ended was followed again")
	default:
	}
	if n := f.reads.Load(); n != 4 {
		t.Errorf("%d log reads, want 4: the first, the woken one, then one a second", n)
	}
}

func TestReaderPodLogNotFollowedPastTheLimit(t *testing.T) {
	f := newFollowedEnv(t, 0)
	err := f.reconcileErr()
	if ok, after := controller.IsRequeueKey(err); !ok || after != workspace.EarlyReadInterval {
		t.Fatalf("Reconcile() = %v, want a look again in %s with no stream to spare", err, workspace.EarlyReadInterval)
	}
	select {
	case <-f.opened:
		t.Error("a log was followed with no stream to spare")
	default:
	}
}

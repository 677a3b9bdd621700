package main

import (
	"slices"
	"sync"
	"time"

	"github.com/resultmaterialize/controller/pkg/workspace"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
)

// Kinds of tracked objects, the first part of a tracker key.
const (
	kindRun     = "CustomRun"
	kindTaskRun = "TaskRun"
	kindPod     = "Pod"
)

// finish is when the watch first showed an object done, on the client's
// clock, and how it ended.
type finish struct {
	at     time.Time
	ok     bool
	reason string
}

// podTimes are the first times the watch saw a reader pod reach each
// stage: the parts of a reader-pod run's latency.
type podTimes struct {
	created, scheduled, running, exited time.Time
}

// tracker records, from watches, when each object finished, when reader
// pods moved through their stages, and how many reader pods each attempt
// had. An attempt is a reader pod name: the controller names one pod per
// run and attempt.
type tracker struct {
	mu       sync.Mutex
	finished map[string]finish
	seen     map[string]time.Time
	waiters  map[string]chan struct{}
	stages   map[string]*podTimes
	podUIDs  map[string]map[types.UID]bool
	alive    map[string]map[types.UID]bool
	maxAlive int
	flips    []string
}

func newTracker() *tracker {
	return &tracker{
		finished: map[string]finish{},
		seen:     map[string]time.Time{},
		waiters:  map[string]chan struct{}{},
		stages:   map[string]*podTimes{},
		podUIDs:  map[string]map[types.UID]bool{},
		alive:    map[string]map[types.UID]bool{},
	}
}

func key(kind, name string) string { return kind + "/" + name }

// done returns a channel closed once the object is seen done.
func (t *tracker) done(k string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch, ok := t.waiters[k]
	if !ok {
		ch = make(chan struct{})
		t.waiters[k] = ch
		if _, seen := t.finished[k]; seen {
			close(ch)
		}
	}
	return ch
}

// result is how the object finished; the zero finish if it has not.
func (t *tracker) result(k string) finish {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.finished[k]
}

func (t *tracker) markDone(k string, ok bool, reason string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.finished[k]; seen {
		return
	}
	t.finished[k] = finish{at: now, ok: ok, reason: reason}
	if ch, waiting := t.waiters[k]; waiting {
		close(ch)
	}
}

// saw records when the watch first showed the object.
func (t *tracker) saw(k string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.seen[k]; !ok {
		t.seen[k] = now
	}
}

// seenAt is when the watch first showed the object; zero if it has not.
func (t *tracker) seenAt(k string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen[k]
}

func (t *tracker) onRun(obj any) {
	run, ok := obj.(*v1beta1.CustomRun)
	if !ok {
		return
	}
	k := key(kindRun, run.Name)
	t.saw(k)
	if c := run.Status.GetCondition(apis.ConditionSucceeded); c != nil && !c.IsUnknown() {
		t.markDone(k, c.IsTrue(), c.Reason)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, done := t.finished[k]; done {
		t.flips = append(t.flips, k)
	}
}

// flipped lists the runs seen done and later not done.
func (t *tracker) flipped() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.flips)
}

func (t *tracker) onTaskRun(obj any) {
	tr, ok := obj.(*v1.TaskRun)
	if !ok {
		return
	}
	t.saw(key(kindTaskRun, tr.Name))
	if c := tr.Status.GetCondition(apis.ConditionSucceeded); c != nil && !c.IsUnknown() {
		t.markDone(key(kindTaskRun, tr.Name), c.IsTrue(), c.Reason)
	}
}

func (t *tracker) onPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		t.markDone(key(kindPod, pod.Name), true, string(pod.Status.Phase))
	case corev1.PodFailed:
		t.markDone(key(kindPod, pod.Name), false, string(pod.Status.Phase))
	}
	if pod.Labels[workspace.ManagedByLabel] == workspace.ManagedByValue {
		t.readerPod(pod, pod.DeletionTimestamp == nil)
	}
}

func (t *tracker) onPodDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok && pod.Labels[workspace.ManagedByLabel] == workspace.ManagedByValue {
		t.readerPod(pod, false)
	}
}

// readerPod records a reader pod's stages and whether it is alive; a pod
// being deleted no longer counts as alive.
func (t *tracker) readerPod(pod *corev1.Pod, alive bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	name := pod.Name
	if t.podUIDs[name] == nil {
		t.podUIDs[name] = map[types.UID]bool{}
		t.alive[name] = map[types.UID]bool{}
	}
	t.podUIDs[name][pod.UID] = true
	if alive {
		t.alive[name][pod.UID] = true
	} else {
		delete(t.alive[name], pod.UID)
	}
	t.maxAlive = max(t.maxAlive, len(t.alive[name]))
	st := t.stages[name]
	if st == nil {
		st = &podTimes{created: now}
		t.stages[name] = st
	}
	if st.scheduled.IsZero() && pod.Spec.NodeName != "" {
		st.scheduled = now
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if st.running.IsZero() && (cs.State.Running != nil || cs.State.Terminated != nil) {
			st.running = now
		}
	}
	if st.exited.IsZero() && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed) {
		st.exited = now
	}
}

func (t *tracker) stagesOf(name string) (podTimes, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.stages[name]
	if !ok {
		return podTimes{}, false
	}
	return *st, true
}

// attempts reports how many attempts had a reader pod, the most pods any
// one attempt ever had, and the most alive at once.
func (t *tracker) attempts() (attempts, mostCreated, mostAlive int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, uids := range t.podUIDs {
		mostCreated = max(mostCreated, len(uids))
	}
	return len(t.podUIDs), mostCreated, t.maxAlive
}

// handlers wires the tracker to an informer.
func handlers(on func(any), onDelete func(any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    on,
		UpdateFunc: func(_, obj any) { on(obj) },
		DeleteFunc: onDelete,
	}
}

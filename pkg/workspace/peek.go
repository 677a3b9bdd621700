package workspace

import (
	"context"
	"sync"
	"time"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/logging"
)

// EarlyReadInterval is the least time between two reads of a running
// reader pod's log.
const EarlyReadInterval = time.Second

// PeekTimeout bounds one read of a running reader pod's log; a kubelet
// that does not answer must not hold a worker for long.
const PeekTimeout = 5 * time.Second

// PeekBackoff is how long to wait after a read of a running reader pod's
// log failed (a kubelet that does not answer, a refused request), rather
// than found an incomplete document.
const PeekBackoff = 10 * time.Second

// peeks remembers when each running reader pod's log may next be read.
type peeks struct {
	mu     sync.Mutex
	next   map[types.UID]time.Time
	pruned time.Time
}

// due reports how long until the pod's log may be read, and when it may be
// read now, allows the next read EarlyReadInterval later.
func (p *peeks) due(uid types.UID, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == nil {
		p.next = map[types.UID]time.Time{}
	}
	if at, ok := p.next[uid]; ok && now.Before(at) {
		return at.Sub(now)
	}
	if now.Sub(p.pruned) > time.Minute {
		for id, at := range p.next {
			if now.Sub(at) > time.Minute {
				delete(p.next, id)
			}
		}
		p.pruned = now
	}
	p.next[uid] = now.Add(EarlyReadInterval)
	return 0
}

// backOff allows the pod's next read only after d.
func (p *peeks) backOff(uid types.UID, now time.Time, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next != nil {
		p.next[uid] = now.Add(d)
	}
}

func (p *peeks) forget(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.next, uid)
}

// peek reads a running reader pod's log before the kubelet reports the
// pod finished. The document is self-delimiting and parsed strictly, so
// once it is all there it is the answer; a partial one is never taken.
// While it is partial the log is followed, and the run woken the moment
// the document ends; with no stream to spare, it is read again at most
// once a second. A pod that runs past both its timeouts fails the
// attempt, even if its node no longer reports on it.
func (s *PodSource) peek(ctx context.Context, pod *corev1.Pod, a Attempt, found Found) (Found, error) {
	if left := s.overdue(ctx, pod); left <= 0 {
		return found, s.tooLong(ctx, pod)
	}
	if s.follows.active(pod.UID) {
		return found, outcome.Wait(LogTimeout)
	}
	if left := s.peeks.due(pod.UID, s.Clock.Now()); left > 0 {
		return found, outcome.Wait(left)
	}
	peekCtx, cancel := context.WithTimeout(ctx, PeekTimeout)
	defer cancel()
	done, err := s.finish(peekCtx, pod, a, found)
	if o := outcome.As(err); o != nil && o.Reason == reasons.ReaderOutputInvalid {
		logging.FromContext(ctx).Debugw("The running reader's output is not complete yet", "pod", pod.Name, "error", err)
		_, limit := outputLimit(pod, recordedPlan(pod, a.Plan))
		if s.follow(ctx, pod, a.Run, limit) {
			return found, outcome.Wait(LogTimeout)
		}
		return found, outcome.Wait(EarlyReadInterval)
	}
	if err != nil {
		logging.FromContext(ctx).Infow("Reading a running reader's log failed; backing off", "pod", pod.Name, "backoff", PeekBackoff.String(), "error", err)
		s.peeks.backOff(pod.UID, s.Clock.Now(), PeekBackoff)
		return found, outcome.Wait(PeekBackoff)
	}
	return done, nil
}

// overdue is how long the pod may still take before the attempt fails:
// its start and read timeouts together, counted from its creation, bound
// even a pod whose node no longer reports on it.
func (s *PodSource) overdue(ctx context.Context, pod *corev1.Pod) time.Duration {
	cfg := config.FromContext(ctx)
	return cfg.ReaderStartTimeout + cfg.ReaderReadTimeout - s.Clock.Since(pod.CreationTimestamp.Time)
}

func (s *PodSource) tooLong(ctx context.Context, pod *corev1.Pod) error {
	cfg := config.FromContext(ctx)
	return outcome.Retry(reasons.ReaderFailed, "reader pod %q still runs %s after it was created, past %s %s and %s %s",
		pod.Name, s.Clock.Since(pod.CreationTimestamp.Time).Round(time.Second), config.KeyReaderStart, cfg.ReaderStartTimeout, config.KeyReaderRead, cfg.ReaderReadTimeout)
}

// running reports whether the reader container is running.
func running(pod *corev1.Pod) bool {
	return readerState(pod).Running != nil
}

// exited is the reader container's termination, if the kubelet shows it.
func exited(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	return readerState(pod).Terminated
}

// readerState is the reader container's state as the kubelet last showed
// it; empty before it shows any.
func readerState(pod *corev1.Pod) corev1.ContainerState {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == readerContainer {
			return cs.State
		}
	}
	return corev1.ContainerState{}
}

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

// peeks remembers when each running reader pod's log was last read.
type peeks struct {
	mu   sync.Mutex
	last map[types.UID]time.Time
}

// due reports how long until the pod's log may be read again, and when it
// may be read now, records the read.
func (p *peeks) due(uid types.UID, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[types.UID]time.Time{}
	}
	if at, ok := p.last[uid]; ok && now.Sub(at) < EarlyReadInterval {
		return EarlyReadInterval - now.Sub(at)
	}
	for id, at := range p.last {
		if now.Sub(at) > time.Minute {
			delete(p.last, id)
		}
	}
	p.last[uid] = now
	return 0
}

func (p *peeks) forget(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, uid)
}

// peek reads a running reader pod's log before the kubelet reports the
// pod finished. The document is self-delimiting and parsed strictly, so
// once it is all there it is the answer; a partial one is never taken,
// and the log is read again at most once a second. A pod that runs past
// both its timeouts fails the attempt, even if its node no longer reports
// on it.
func (s *PodSource) peek(ctx context.Context, pod *corev1.Pod, a Attempt, found Found) (Found, error) {
	cfg := config.FromContext(ctx)
	if waited := s.Clock.Since(pod.CreationTimestamp.Time); waited > cfg.ReaderStartTimeout+cfg.ReaderReadTimeout {
		return found, outcome.Retry(reasons.ReaderFailed, "reader pod %q still runs %s after it was created, past %s %s and %s %s",
			pod.Name, waited.Round(time.Second), config.KeyReaderStart, cfg.ReaderStartTimeout, config.KeyReaderRead, cfg.ReaderReadTimeout)
	}
	if left := s.peeks.due(pod.UID, s.Clock.Now()); left > 0 {
		return found, outcome.Wait(left)
	}
	ctx, cancel := context.WithTimeout(ctx, PeekTimeout)
	defer cancel()
	done, err := s.finish(ctx, pod, a, found)
	if err != nil {
		logging.FromContext(ctx).Debugw("The running reader's output is not complete yet", "pod", pod.Name, "error", err)
		return found, outcome.Wait(EarlyReadInterval)
	}
	return done, nil
}

// running reports whether the reader container is running.
func running(pod *corev1.Pod) bool {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == readerContainer && cs.State.Running != nil {
			return true
		}
	}
	return false
}

// exited is the reader container's termination, if the kubelet shows it.
func exited(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == readerContainer && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

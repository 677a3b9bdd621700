package workspace

import (
	"context"
	"io"
	"sync"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/logging"
)

// MaxFollows is how many reader pod logs the controller follows at once;
// past it, running readers are read again once a second.
const MaxFollows = 16

// follows are the reader pods whose log is followed now, and those whose
// followed log has shown a whole document once.
type follows struct {
	mu    sync.Mutex
	open  map[types.UID]bool
	ended capped[types.UID, bool]
}

// start claims a stream for the pod; false when one is open for it
// already or most are, or when its log has ended before: a document that
// ended and was still not taken (it does not parse, or is not the plan's)
// is read once a second until the kubelet reports the reader done, never
// followed again, so a follow that ends at once cannot loop.
func (f *follows) start(uid types.UID, most int) bool {
	if _, ended := f.ended.get(uid); ended {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open == nil {
		f.open = map[types.UID]bool{}
	}
	if f.open[uid] || len(f.open) >= most {
		return false
	}
	f.open[uid] = true
	return true
}

func (f *follows) active(uid types.UID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open[uid]
}

func (f *follows) stop(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.open, uid)
}

// follow streams a running reader's log as it writes it and wakes the run
// the moment the document has ended, or the stream failed, ran past
// limit bytes or past LogTimeout, so the run is read without waiting for
// the next once-a-second read or for the kubelet to notice the reader
// exited. It holds no bytes: the woken reconcile reads and checks the log
// as always, at once when the document ended, else no sooner than the
// next read was due. It reports whether it started.
func (s *PodSource) follow(ctx context.Context, pod *corev1.Pod, run *v1beta1.CustomRun, limit int64) bool {
	if s.Wake == nil || !s.follows.start(pod.UID, s.MaxFollows) {
		return false
	}
	logger := logging.FromContext(ctx)
	key := types.NamespacedName{Namespace: run.Namespace, Name: run.Name}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(LogTimeout, s.overdue(ctx, pod)))
	go func() {
		defer cancel()
		ended, err := s.followed(ctx, pod, limit)
		logger.Debugw("Followed a running reader's log", "pod", pod.Name, "ended", ended, "error", err)
		switch {
		case ended:
			// The document is whole: the woken run reads it at once, not
			// when the next once-a-second read would be due.
			s.follows.ended.set(pod.UID, true, maxRecent)
			s.peeks.forget(pod.UID)
		case err != nil && ctx.Err() == nil:
			// The kubelet or the API server refused the stream: read
			// again only after a back-off, as a failed read does.
			s.peeks.backOff(pod.UID, s.Clock.Now(), PeekBackoff)
		}
		s.follows.stop(pod.UID)
		s.Wake(key)
	}()
	return true
}

func (s *PodSource) followed(ctx context.Context, pod *corev1.Pod, limit int64) (bool, error) {
	follow := s.Follow
	if follow == nil {
		follow = s.kubeFollow
	}
	stream, err := follow(ctx, pod, limit+1)
	if err != nil {
		return false, err
	}
	defer stream.Close()
	return protocol.Ended(io.LimitReader(stream, limit+1))
}

func (s *PodSource) kubeFollow(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error) {
	return s.Kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: readerContainer, Follow: true, LimitBytes: ptr.To(limit)}).Stream(ctx)
}

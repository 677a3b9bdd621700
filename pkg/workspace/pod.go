package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/logging"
)

// LogTimeout bounds one read of a reader pod's log: a stalled stream must
// not hold a worker.
const LogTimeout = 30 * time.Second

// leftoverRecheck is how soon to look again after deleting a pod left by
// an earlier CustomRun of the same name.
const leftoverRecheck = time.Second

// PodSource reads persistentVolumeClaim, csi and secret bindings through
// one short-lived reader pod per attempt, whose stdout is one JSON document
// read through pods/log. Read never deletes the attempt's pod: Cleanup
// does, once the run is seen done or moves to another attempt, so a
// reconcile of a stale copy of the run finds the same pod and reaches the
// same outcome.
type PodSource struct {
	Kube  kubernetes.Interface
	Pods  corelisters.PodLister
	Clock clock.PassiveClock
	// Logs streams at most limit bytes of a reader pod's log; nil reads
	// pods/log through Kube.
	Logs func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// Follow streams a running reader pod's log as it is written; nil
	// follows pods/log through Kube.
	Follow func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// Wake enqueues a run; nil never follows a log.
	Wake func(types.NamespacedName)
	// MaxFollows is how many logs it follows at once; zero follows none.
	MaxFollows int

	peeks   peeks
	follows follows
}

var _ Source = (*PodSource)(nil)

// Traits implements Source: the reader pod records the plan it was made
// with, and is made from the newest copy of the run only, or a replica
// whose copy predates the pod would make it again after it was read and
// deleted.
func (s *PodSource) Traits() Traits {
	return Traits{Kinds: []Kind{KindPersistentVolumeClaim, KindCSI, KindSecret}, Resumes: true, NeedsNewest: true}
}

// Marker implements Source: the attempt's reader pod.
func (s *PodSource) Marker(run *v1beta1.CustomRun) string { return PodName(run) }

// Read implements Source.
func (s *PodSource) Read(ctx context.Context, a Attempt) (Found, error) {
	cfg := config.FromContext(ctx)
	run, name := a.Run, PodName(a.Run)
	pod, err := s.get(ctx, run.Namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		if a.ReaderPod == name {
			return Found{}, outcome.Retry(reasons.ReaderFailed, "reader pod %q was deleted before it finished", name)
		}
		if err := s.create(ctx, a, cfg); err != nil {
			return Found{}, err
		}
		return Found{ReaderPod: name}, outcome.Wait(cfg.ReaderStartTimeout)
	case err != nil:
		return Found{}, fmt.Errorf("getting reader pod %s/%s: %w", run.Namespace, name, err)
	}
	if !metav1.IsControlledBy(pod, run) {
		return Found{}, s.foreign(ctx, a, pod)
	}
	found := Found{ReaderPod: name, ReadBy: ReadByReaderPod}
	switch {
	case pod.DeletionTimestamp != nil:
		return found, outcome.Retry(reasons.ReaderFailed, "reader pod %q was deleted before it finished", name)
	case pod.Status.Phase == corev1.PodSucceeded:
		return s.finish(ctx, pod, a, found)
	case pod.Status.Phase == corev1.PodFailed:
		return found, outcome.Retry(reasons.ReaderFailed, "reader pod %q failed: %s", name, failureText(pod))
	case exited(pod) != nil:
		// The kubelet often shows the container exited a second before
		// the pod's phase follows.
		if exited(pod).ExitCode != 0 {
			return found, outcome.Retry(reasons.ReaderFailed, "reader pod %q failed: %s", name, failureText(pod))
		}
		return s.finish(ctx, pod, a, found)
	case running(pod):
		return s.peek(ctx, pod, a, found)
	case pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "":
		waited := s.Clock.Since(pod.CreationTimestamp.Time)
		if waited < cfg.ReaderStartTimeout {
			return found, pending(pod, waited, cfg.ReaderStartTimeout-waited)
		}
		return found, outcome.Retry(reasons.ReaderUnschedulable, "reader pod %q stayed Pending for %s, past %s %s: %s",
			name, waited.Round(time.Second), config.KeyReaderStart, cfg.ReaderStartTimeout, pendingText(pod))
	default:
		// Running with no container shown yet, or a phase the kubelet
		// could not tell (Unknown): wait, but not past both timeouts.
		left := s.overdue(ctx, pod)
		if left <= 0 {
			return found, s.tooLong(ctx, pod)
		}
		return found, unreported(pod, left)
	}
}

// finish reads and checks the output of a reader that has exited, or
// that runs and may have printed its whole document.
func (s *PodSource) finish(ctx context.Context, pod *corev1.Pod, a Attempt, found Found) (Found, error) {
	found.Plan = recordedPlan(pod, a.Plan)
	reports, size, err := s.output(ctx, pod, found.Plan)
	if err != nil {
		return Found{ReaderPod: found.ReaderPod}, err
	}
	found.Reports = reports
	s.peeks.forget(pod.UID)
	latency := s.Clock.Since(pod.CreationTimestamp.Time)
	logging.FromContext(ctx).Infow("Reader pod output read", "pod", pod.Name, "phase", pod.Status.Phase, "latency", latency.String(), "bytes", size)
	found.ReaderLatency = latency
	return found, nil
}

// foreign handles a pod that holds this attempt's name but is not this
// run's. A reader pod of an earlier, deleted CustomRun of the same name
// is removed (the garbage collector may not have got to it yet) and the
// name is free again; any other pod is refused. Only the newest copy of
// the run removes it: an older one may be of the earlier run itself, and
// the pod that of the run that has the name now.
func (s *PodSource) foreign(ctx context.Context, a Attempt, pod *corev1.Pod) error {
	run := a.Run
	owner := metav1.GetControllerOf(pod)
	if pod.Labels[ManagedByLabel] == ManagedByValue && owner != nil && owner.Kind == "CustomRun" && owner.Name == run.Name && owner.UID != run.UID {
		if pod.DeletionTimestamp == nil {
			if err := a.Newest(ctx); err != nil {
				return err
			}
			if err := s.delete(ctx, pod); err != nil {
				return err
			}
			logging.FromContext(ctx).Infow("Deleted the reader pod of an earlier CustomRun of the same name", "pod", pod.Name, "uid", owner.UID)
		}
		return outcome.Wait(leftoverRecheck)
	}
	return outcome.Fail(reasons.ReaderRefused, "pod %q exists and is not this CustomRun's reader pod: delete or rename it", pod.Name)
}

// get reads the pod from the informer's cache and, on a miss, from the API:
// a pod created moments ago may not be in the cache yet.
func (s *PodSource) get(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	pod, err := s.Pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return s.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}
	return pod, err
}

func (s *PodSource) create(ctx context.Context, a Attempt, cfg *config.Config) error {
	if cfg.ReaderImage == "" {
		return outcome.Fail(reasons.ReaderRefused, "no reader image: set %s in %s or the controller's %s", config.KeyReaderImage, config.Name, config.ReaderImageEnv)
	}
	place, err := s.placement(ctx, a)
	if err != nil {
		return err
	}
	pod, err := ReaderPod(a.Run, a.Binding, a.Plan, cfg, place)
	if err != nil {
		return err
	}
	_, err = s.Kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
	case err != nil:
		return Classify(err, "the API server refused reader pod %q", pod.Name)
	default:
		logging.FromContext(ctx).Infow("Created reader pod", "pod", pod.Name, "files", len(a.Plan.Results))
	}
	return nil
}

// recordedPlan is the plan the attempt started with, recorded on its pod;
// a pod made by an earlier controller version has none, and is read with
// the plan resolved now (the reports are still checked against it).
func recordedPlan(pod *corev1.Pod, current materialize.Plan) materialize.Plan {
	var plan materialize.Plan
	if raw, ok := pod.Annotations[PlanAnnotation]; ok && json.Unmarshal([]byte(raw), &plan) == nil {
		return plan
	}
	return current
}

// output reads and checks the reader's one JSON document, and says how
// many bytes it read. A log that
// cannot be read, or anything malformed, truncated or larger than the
// plan allows, fails the attempt.
func (s *PodSource) output(ctx context.Context, pod *corev1.Pod, plan materialize.Plan) ([]protocol.FileReport, int, error) {
	ctx, cancel := context.WithTimeout(ctx, LogTimeout)
	defer cancel()
	reqs := plan.Requests()
	budget, limit := outputLimit(pod, plan)
	logs := s.Logs
	if logs == nil {
		logs = s.kubeLogs
	}
	stream, err := logs(ctx, pod, limit+1)
	if apierrors.IsTooManyRequests(err) {
		return nil, 0, fmt.Errorf("reading the log of reader pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err != nil {
		return nil, 0, outcome.Retry(reasons.ReaderLogUnavailable, "reading the log of reader pod %q: %v", pod.Name, err)
	}
	defer stream.Close()
	raw, err := io.ReadAll(io.LimitReader(stream, limit+1))
	if err != nil {
		return nil, 0, outcome.Retry(reasons.ReaderLogUnavailable, "reading the log of reader pod %q after %d bytes: %v", pod.Name, len(raw), err)
	}
	reports, err := protocol.Parse(raw, reqs, budget)
	if errors.Is(err, protocol.ErrCut) {
		return nil, 0, outcome.Retry(reasons.ReaderOutputCut, "reader pod %q: %v: its output (at most %d bytes) is far below the kubelet's log rotation, so the log was rotated or written to by something else", pod.Name, err, limit)
	}
	if err != nil {
		return nil, 0, outcome.Retry(reasons.ReaderOutputInvalid, "reader pod %q: %v", pod.Name, err)
	}
	return reports, len(raw), nil
}

// outputLimit is the inline budget the pod's reader kept to, and the
// most bytes its document can hold.
func outputLimit(pod *corev1.Pod, plan materialize.Plan) (budget, limit int64) {
	reqs := plan.Requests()
	budget = plan.MaxInlineTotal
	if pod.Annotations[OutputAnnotation] != OutputBudgeted {
		// An earlier release's reader printed every head.
		budget = 0
		for _, r := range reqs {
			budget += r.Limit
		}
	}
	return budget, protocol.MaxOutputBytes(reqs, budget)
}

func (s *PodSource) kubeLogs(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error) {
	return s.Kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: readerContainer, LimitBytes: ptr.To(limit)}).Stream(ctx)
}

// Cleanup implements Source: it deletes the run's reader pods, of every
// attempt (one made by a replica that had lost the run's bucket may
// outlive its attempt), but keeps failed ones when keep-failed-readers is
// set. It asks only the informer's cache: every done run is cleaned up on
// every resync and at start-up, and most never had a pod, so an API read
// per run would be waste; a pod the cache has not seen yet re-enqueues its
// run when it does.
func (s *PodSource) Cleanup(ctx context.Context, run *v1beta1.CustomRun) error {
	pods, err := s.Pods.Pods(run.Namespace).List(labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue, RunLabel: runLabel(run)}))
	if err != nil {
		return err
	}
	keepFailed := config.FromContext(ctx).KeepFailedReaders
	for _, pod := range pods {
		// A pod of a later attempt than this copy knows belongs to a newer
		// copy of the run: never this cleanup's to delete.
		if !metav1.IsControlledBy(pod, run) || pod.DeletionTimestamp != nil || laterAttempt(pod, run) || (pod.Status.Phase == corev1.PodFailed && keepFailed) {
			continue
		}
		if err := s.delete(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

// laterAttempt reports whether the pod was made for a later attempt than
// this copy of the run knows.
func laterAttempt(pod *corev1.Pod, run *v1beta1.CustomRun) bool {
	n, err := strconv.Atoi(pod.Labels[AttemptLabel])
	return err == nil && n > run.GetRetryCount()
}

func (s *PodSource) delete(ctx context.Context, pod *corev1.Pod) error {
	s.peeks.forget(pod.UID)
	err := s.Kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting reader pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// failureText is the reader's own error (its termination message, the
// tail of its log) or, for an evicted pod, the kubelet's reason.
func failureText(pod *corev1.Pod) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			if t.Message != "" {
				return fmt.Sprintf("%s (exit code %d)", t.Message, t.ExitCode)
			}
			return fmt.Sprintf("%s (exit code %d)", t.Reason, t.ExitCode)
		}
	}
	if pod.Status.Message != "" {
		return fmt.Sprintf("%s: %s", pod.Status.Reason, pod.Status.Message)
	}
	return "no reason given"
}

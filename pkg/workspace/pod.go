package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	rmv1alpha1 "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/metrics"
	"github.com/resultmaterialize/controller/pkg/reader"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/logging"
)

// PendingError means a reader pod is still at work. The run is reconciled
// again on the pod's next change, and at the latest after RecheckAfter.
type PendingError struct {
	RecheckAfter time.Duration
}

func (e *PendingError) Error() string { return ErrPending.Error() }

// Is makes errors.Is(err, ErrPending) hold.
func (e *PendingError) Is(target error) bool { return target == ErrPending }

// PodSource reads persistentVolumeClaim, csi and secret bindings through
// one short-lived reader pod per attempt, whose stdout is one JSON document
// read through pods/log. Read never deletes the pod: Cleanup does, once the
// run is seen done or moves to another attempt, so a reconcile of a stale
// copy of the run finds the same pod and reaches the same outcome.
type PodSource struct {
	Kube  kubernetes.Interface
	Pods  corelisters.PodLister
	Clock clock.PassiveClock
	// Logs streams at most limit bytes of a reader pod's log; nil reads
	// pods/log through Kube.
	Logs func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// Metrics records reader latency; nil records nothing.
	Metrics *metrics.Recorder
}

var _ Source = (*PodSource)(nil)

// Read implements Source.
func (s *PodSource) Read(ctx context.Context, run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, reqs []materialize.FileRequest) ([]materialize.FileReport, error) {
	cfg := config.FromContext(ctx)
	name := PodName(run)
	pod, err := s.get(ctx, run.Namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		if recordedPod(run) == name {
			return nil, &TransientError{Reason: reasons.ReaderFailed,
				Message: fmt.Sprintf("reader pod %q was deleted before it finished", name)}
		}
		return nil, s.create(ctx, run, b, reqs, cfg)
	case err != nil:
		return nil, err
	}
	if !metav1.IsControlledBy(pod, run) {
		return nil, &materialize.Failure{Reason: reasons.ReaderFailed,
			Message: fmt.Sprintf("pod %q exists and is not this CustomRun's reader pod", name)}
	}
	if err := recordPod(run, name); err != nil {
		return nil, err
	}
	logger := logging.FromContext(ctx).With("pod", name, "phase", pod.Status.Phase)
	switch {
	case pod.DeletionTimestamp != nil:
		return nil, &TransientError{Reason: reasons.ReaderFailed,
			Message: fmt.Sprintf("reader pod %q was deleted before it finished", name)}
	case pod.Status.Phase == corev1.PodSucceeded:
		reports, err := s.output(ctx, pod, reqs)
		if err != nil {
			return nil, err
		}
		latency := s.Clock.Since(pod.CreationTimestamp.Time)
		logger.Infow("Reader pod finished", "latency", latency.String())
		s.Metrics.ReaderLatency(ctx, latency)
		return reports, nil
	case pod.Status.Phase == corev1.PodFailed:
		return nil, &TransientError{Reason: reasons.ReaderFailed,
			Message: fmt.Sprintf("reader pod %q failed: %s", name, failureText(pod))}
	case pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "":
		waited := s.Clock.Since(pod.CreationTimestamp.Time)
		if waited < cfg.ReaderTimeout {
			return nil, &PendingError{RecheckAfter: cfg.ReaderTimeout - waited}
		}
		return nil, &materialize.Failure{Reason: reasons.ReaderUnschedulable,
			Message: fmt.Sprintf("reader pod %q stayed Pending for %s, past reader-timeout %s: %s", name, waited.Round(time.Second), cfg.ReaderTimeout, pendingText(pod))}
	default:
		return nil, &PendingError{RecheckAfter: cfg.ReaderTimeout}
	}
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

func (s *PodSource) create(ctx context.Context, run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, reqs []materialize.FileRequest, cfg *config.Config) error {
	if cfg.ReaderImage == "" {
		return &materialize.Failure{Reason: reasons.ReaderFailed,
			Message: fmt.Sprintf("no reader image: set %s in %s or the controller's %s", config.KeyReaderImage, config.Name, config.ReaderImageEnv)}
	}
	pod, err := ReaderPod(run, b, reqs, cfg)
	if err != nil {
		return err
	}
	_, err = s.Kube.CoreV1().Pods(run.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating reader pod %s/%s: %w", run.Namespace, pod.Name, err)
	}
	logging.FromContext(ctx).Infow("Created reader pod", "pod", pod.Name, "files", len(reqs))
	if err := recordPod(run, pod.Name); err != nil {
		return err
	}
	return &PendingError{RecheckAfter: cfg.ReaderTimeout}
}

// output reads and checks the reader's one JSON document. Anything
// malformed, truncated or larger than the spec allows fails the attempt.
func (s *PodSource) output(ctx context.Context, pod *corev1.Pod, reqs []materialize.FileRequest) ([]materialize.FileReport, error) {
	limit := materialize.MaxReportBytes(reqs)
	logs := s.Logs
	if logs == nil {
		logs = s.kubeLogs
	}
	stream, err := logs(ctx, pod, limit+1)
	if err != nil {
		return nil, fmt.Errorf("reading the log of reader pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	defer stream.Close()
	raw, err := io.ReadAll(io.LimitReader(stream, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the log of reader pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	reports, err := ParseOutput(raw, reqs, limit)
	if err != nil {
		return nil, &TransientError{Reason: reasons.ReaderOutputInvalid,
			Message: fmt.Sprintf("reader pod %q: %v", pod.Name, err)}
	}
	return reports, nil
}

func (s *PodSource) kubeLogs(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error) {
	return s.Kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "reader", LimitBytes: ptr.To(limit)}).Stream(ctx)
}

// ParseOutput decodes a reader's output strictly: one document, known
// fields only, one report per request in order, at most limit bytes.
func ParseOutput(raw []byte, reqs []materialize.FileRequest, limit int64) ([]materialize.FileReport, error) {
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("output is over %d bytes, the most %d requested files can produce", limit, len(reqs))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out reader.Output
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("output is not a reader document (%d bytes): %w", len(raw), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("output has data after the reader document")
	}
	if len(out.Files) != len(reqs) {
		return nil, fmt.Errorf("output reports %d files for %d requested", len(out.Files), len(reqs))
	}
	for i, f := range out.Files {
		if f.Path != reqs[i].Path {
			return nil, fmt.Errorf("output file %d is %q, want %q", i, f.Path, reqs[i].Path)
		}
		if int64(len(f.Head)) > reqs[i].Limit || f.Size < int64(len(f.Head)) {
			return nil, fmt.Errorf("output file %q has %d head bytes for a limit of %d and a size of %d", f.Path, len(f.Head), reqs[i].Limit, f.Size)
		}
	}
	return out.Files, nil
}

// Cleanup implements Source: it deletes the current attempt's pod, but
// keeps a failed one when keep-failed-readers is set. It asks only the
// informer's cache: every done run is cleaned up on every resync and at
// start-up, and most never had a pod, so an API read per run would be
// waste; a pod the cache has not seen yet re-enqueues its run when it does.
func (s *PodSource) Cleanup(ctx context.Context, run *v1beta1.CustomRun) error {
	pod, err := s.Pods.Pods(run.Namespace).Get(PodName(run))
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case !metav1.IsControlledBy(pod, run):
		return nil
	case pod.Status.Phase == corev1.PodFailed && config.FromContext(ctx).KeepFailedReaders:
		return nil
	}
	return s.delete(ctx, pod)
}

func (s *PodSource) delete(ctx context.Context, pod *corev1.Pod) error {
	err := s.Kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
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

// pendingText is why the pod has not started: the scheduler's message or
// a container's waiting reason (an image that cannot be pulled).
func pendingText(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue && c.Message != "" {
			return fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return fmt.Sprintf("%s: %s", w.Reason, w.Message)
		}
	}
	return "no reason given by the scheduler or kubelet"
}

func recordedPod(run *v1beta1.CustomRun) string {
	var ef rmv1alpha1.ExtraFields
	if run.Status.DecodeExtraFields(&ef) != nil {
		return ""
	}
	return ef.ReaderPod
}

func recordPod(run *v1beta1.CustomRun, name string) error {
	if recordedPod(run) == name {
		return nil
	}
	if err := run.Status.EncodeExtraFields(rmv1alpha1.ExtraFields{ReaderPod: name}); err != nil {
		return fmt.Errorf("recording the reader pod: %w", err)
	}
	return nil
}

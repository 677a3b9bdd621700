// Package resultmaterialize reconciles CustomRuns of kind
// ResultMaterialize: it reads result files from the run's workspace and
// surfaces them as CustomRun results.
package resultmaterialize

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	rmv1alpha1 "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	rmversioned "github.com/resultmaterialize/controller/pkg/client/clientset/versioned"
	"github.com/resultmaterialize/controller/pkg/client/listers/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/metrics"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	customrunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1beta1/customrun"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
)

// ReconcileTimeout bounds one reconcile's API calls, so a stalled API
// server or log stream never holds a worker.
const ReconcileTimeout = time.Minute

// StatusReserve is the part of ReconcileTimeout kept for writing the
// status: the reconcile's own work (reads, projections, pod calls) must
// end StatusReserve before the deadline, so what it reached is written.
const StatusReserve = 15 * time.Second

// staleRecheck is when a reconcile that found its copy of the run out of
// date looks again, if the newer copy has not reached the cache by then.
const staleRecheck = time.Second

// MaxStatusBytes is the largest CustomRun the controller writes: etcd
// stores at most 1.5 MiB per object, and managed fields and the spec share
// it.
const MaxStatusBytes = 1408 << 10

// Reconciler materializes the results of ResultMaterialize CustomRuns.
type Reconciler struct {
	// Clock tells the time for timeouts and retries.
	Clock clock.PassiveClock
	// Sources read the workspace bindings.
	Sources workspace.Sources
	// Metrics counts outcomes; nil records nothing.
	Metrics *metrics.Recorder

	kube     kubernetes.Interface
	lister   v1alpha1.ResultMaterializeLister
	objects  rmversioned.Interface
	pipeline versioned.Interface
}

var _ customrunreconciler.Interface = (*Reconciler)(nil)

// ReconcileKind drives one CustomRun through its lifecycle: start, then
// cancellation, timeout or a read attempt, until it is done; then it
// writes the status the reconcile reached.
func (r *Reconciler) ReconcileKind(ctx context.Context, run *v1beta1.CustomRun) pkgreconciler.Event {
	ctx, cancel := context.WithTimeout(ctx, ReconcileTimeout)
	defer cancel()
	r.Metrics.Reconciled(ctx)
	logger := logging.FromContext(ctx).With("attempt", run.GetRetryCount())
	ctx = logging.WithLogger(ctx, logger)
	run.SetDefaults(ctx)
	before := run.Status.DeepCopy()
	ctx, reports := withReports(ctx)
	work, cancelWork := context.WithTimeout(ctx, ReconcileTimeout-StatusReserve)
	defer cancelWork()
	err := r.reconcileKind(work, run)
	if werr := r.writeStatus(ctx, run, before); werr != nil {
		return werr
	}
	reports.send()
	return err
}

func (r *Reconciler) reconcileKind(ctx context.Context, run *v1beta1.CustomRun) error {
	if run.Status.CompletionTime != nil {
		// A finished run is final, whatever happens to its spec later:
		// Tekton cancels every child of a cancelled PipelineRun, finished
		// ones too.
		return r.cleanup(ctx, run)
	}
	if !run.HasStarted() {
		now := r.Clock.Now()
		run.Status.StartTime = nowTime(now)
		run.Status.InitializeConditions()
		run.Status.MarkCustomRunRunning(reasons.Running.String(), readingMessage)
		event(ctx, run, corev1.EventTypeNormal, reasons.Running, "Started materializing results")
	}
	if run.IsCancelled() {
		if err := r.cleanup(ctx, run); err != nil {
			return err
		}
		return r.settle(ctx, run, outcome.Fail(reasons.Cancelled, "CustomRun %q was cancelled: %s", run.Name, run.Spec.StatusMessage))
	}
	if run.HasTimedOut(r.Clock) {
		msg := fmt.Sprintf("CustomRun %q attempt %d did not finish within its timeout of %s", run.Name, run.GetRetryCount(), run.GetTimeout())
		if cause := waitedOn(run); cause != "" {
			msg += "; it was waiting on " + cause
		}
		return r.settle(ctx, run, outcome.Retry(reasons.TimedOut, "%s", msg))
	}
	return r.settle(ctx, run, r.reconcile(ctx, run))
}

// writeStatus writes the run's status when the reconcile changed it, as an
// update of the very copy it started from: if the API server holds a newer
// one (another replica's, or one the cache had not shown yet), the update
// conflicts and the run is reconciled again from the newer copy, which is
// never overwritten.
func (r *Reconciler) writeStatus(ctx context.Context, run *v1beta1.CustomRun, before *v1beta1.CustomRunStatus) error {
	run.Status.ObservedGeneration = run.Generation
	if equality.Semantic.DeepEqual(*before, run.Status) {
		return nil
	}
	_, err := r.pipeline.TektonV1beta1().CustomRuns(run.Namespace).UpdateStatus(ctx, run, metav1.UpdateOptions{})
	switch {
	case apierrors.IsConflict(err):
		// The work queue retries it with backoff; the newer copy reaching
		// the cache enqueues the run anyway.
		return err
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("updating the status of CustomRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	return nil
}

// settle is the one place an outcome becomes the run's state: a result
// succeeded, the work goes on, the attempt ended, or the run ended. Any
// other error is returned for the work queue to retry.
func (r *Reconciler) settle(ctx context.Context, run *v1beta1.CustomRun, err error) error {
	o := outcome.As(err)
	switch {
	case err == nil:
		return nil
	case o == nil:
		return err
	case o.Kind == outcome.Waiting:
		showWait(ctx, run, o)
		return r.waitFor(run, o.RecheckAfter)
	case o.Kind == outcome.Retryable:
		return r.retryOrFail(ctx, run, o)
	case o.Kind == outcome.Terminal:
		if err := r.stale(ctx, run); err != nil {
			return err
		}
		r.fail(ctx, run, o)
		return nil
	default:
		return fmt.Errorf("outcome of unknown kind %d: %w", o.Kind, err)
	}
}

func (r *Reconciler) reconcile(ctx context.Context, run *v1beta1.CustomRun) error {
	cfg := config.FromContext(ctx)
	rec := recorded(run)
	a := workspace.Attempt{Run: run, ReaderPod: rec.ReaderPod, Newest: func(ctx context.Context) error {
		return r.stale(ctx, run)
	}}
	src := r.Sources.Resuming(run, rec.ReaderPod)
	if src != nil && rec.Workspace != "" {
		// The attempt started with a plan its source recorded: the live
		// spec and config are for the next attempt.
		b, err := workspace.Select(run, rec.Workspace)
		if err != nil {
			return err
		}
		a.Binding = b
	} else {
		res, err := r.resolve(ctx, run)
		if err != nil {
			return err
		}
		if a.Binding, err = workspace.Select(run, res.workspace); err != nil {
			return err
		}
		if err := exportTarget(run, a.Binding, cfg, &res.plan, r.Clock.Now()); err != nil {
			return err
		}
		if src, err = r.Sources.For(ctx, run.Namespace, a.Binding, cfg); err != nil {
			return err
		}
		a.Plan = res.plan
		if err := r.keepForCollection(ctx, run, res.plan); err != nil {
			return err
		}
		if src.Traits().NeedsNewest {
			if err := r.stale(ctx, run); err != nil {
				return err
			}
		}
	}
	found, err := src.Read(ctx, a)
	if found.Fallback != "" {
		event(ctx, run, corev1.EventTypeNormal, reasons.ReadThroughReaderPod, "read by a reader pod, not from the object store: "+found.Fallback)
	}
	if found.ReaderPod != "" && found.ReaderPod != rec.ReaderPod {
		ef := rmv1alpha1.ExtraFields{ReaderPod: found.ReaderPod, Workspace: a.Binding.Name}
		if a.Plan.Export != nil {
			ef.Repository, ef.Insecure = a.Plan.Export.Repository, a.Plan.Export.Insecure
		}
		if rerr := run.Status.EncodeExtraFields(ef); rerr != nil {
			return fmt.Errorf("recording the reader pod: %w", rerr)
		}
	}
	if err != nil {
		return err
	}
	out, merr := materialize.Materialize(found.Plan, found.Reports)
	// Only the newest copy of the run records an outcome (and the reader's
	// latency): an older one may not show that it already finished, and
	// would finish it again.
	if err := r.stale(ctx, run); err != nil {
		return err
	}
	if found.ReaderLatency > 0 {
		later(ctx, func() { r.Metrics.ReaderLatency(ctx, found.ReaderLatency) })
	}
	if merr != nil {
		return merr
	}
	if err := r.verifyExports(ctx, run, found.Plan, out); err != nil {
		return err
	}
	return r.succeed(ctx, run, out, found.ReadBy, a.Binding.Name)
}

func recorded(run *v1beta1.CustomRun) rmv1alpha1.ExtraFields {
	var ef rmv1alpha1.ExtraFields
	if run.Status.DecodeExtraFields(&ef) != nil {
		return rmv1alpha1.ExtraFields{}
	}
	return ef
}

// waitFor re-queues the run after the given time or when the run's
// timeout expires, whichever is first, so a read that never progresses
// still ends. A run without spec.timeout has Tekton's default of 60
// minutes; a timeout of 0 means none.
func (r *Reconciler) waitFor(run *v1beta1.CustomRun, after time.Duration) error {
	if timeout := run.GetTimeout(); timeout > 0 && run.Status.StartTime != nil {
		left := timeout - r.Clock.Since(run.Status.StartTime.Time)
		if left <= 0 {
			return controller.NewRequeueImmediately()
		}
		if after == 0 || left < after {
			after = left
		}
	}
	if after <= 0 {
		return nil
	}
	return controller.NewRequeueAfter(after)
}

func (r *Reconciler) succeed(ctx context.Context, run *v1beta1.CustomRun, out materialize.Outcome, readBy, binding string) error {
	prior := run.Status.DeepCopy()
	run.Status.Results = make([]v1beta1.CustomRunResult, len(out.Values))
	for i, v := range out.Values {
		run.Status.Results[i] = v1beta1.CustomRunResult{Name: v.Name, Value: v.Value}
	}
	if err := run.Status.EncodeExtraFields(rmv1alpha1.ExtraFields{ReadBy: readBy, Workspace: binding, Results: out.Rows}); err != nil {
		return fmt.Errorf("encoding extraFields: %w", err)
	}
	if size := storedSize(run); size > MaxStatusBytes {
		run.Status = *prior
		return outcome.Fail(reasons.StatusTooLarge,
			"the CustomRun with its %d results and their companions would be %d bytes as stored, above the %d bytes the controller writes to one object: lower the thresholds or max-inline-total, or split the results over several tasks",
			len(out.Rows), size, MaxStatusBytes)
	}
	inline := 0
	for _, row := range out.Rows {
		if row.Inline {
			inline++
		}
	}
	msg := fmt.Sprintf("Materialized %d results: %d inline, %d by reference or truncated", len(out.Rows), inline, len(out.Rows)-inline)
	run.Status.MarkCustomRunSucceeded(reasons.Materialized.String(), "%s", msg)
	logging.FromContext(ctx).Infow("Materialized results", "results", len(out.Rows), "inline", inline)
	later(ctx, func() {
		r.Metrics.RunDone(ctx, reasons.Materialized)
		r.Metrics.Materialized(ctx, out.Rows)
	})
	event(ctx, run, corev1.EventTypeNormal, reasons.Materialized, msg)
	return nil
}

// storedSize is the run's size as JSON, as the API server stores it.
func storedSize(run *v1beta1.CustomRun) int {
	raw, err := json.Marshal(run)
	if err != nil {
		return 0
	}
	return len(raw)
}

func (r *Reconciler) fail(ctx context.Context, run *v1beta1.CustomRun, o *outcome.Outcome) {
	run.Status.MarkCustomRunFailed(o.Reason.String(), "%s", o.Message)
	later(ctx, func() { r.Metrics.RunDone(ctx, o.Reason) })
	logging.FromContext(ctx).Infow("CustomRun failed", zap.String("reason", o.Reason.String()), zap.String("message", o.Message))
	event(ctx, run, corev1.EventTypeWarning, o.Reason, o.Message)
}

// retryOrFail records a failed attempt and starts another while
// spec.retries allows, and fails the run with the attempt's reason after.
func (r *Reconciler) retryOrFail(ctx context.Context, run *v1beta1.CustomRun, o *outcome.Outcome) error {
	if err := r.stale(ctx, run); err != nil {
		return err
	}
	if err := r.cleanup(ctx, run); err != nil {
		return err
	}
	if run.GetRetryCount() >= run.Spec.Retries {
		r.fail(ctx, run, o)
		return nil
	}
	attempt := run.Status.DeepCopy()
	attempt.MarkCustomRunFailed(o.Reason.String(), "%s", o.Message)
	attempt.RetriesStatus = nil
	retries := append(slices.Clone(run.Status.RetriesStatus), *attempt)
	run.Status = v1beta1.CustomRunStatus{}
	run.Status.RetriesStatus = retries
	run.Status.StartTime = nowTime(r.Clock.Now())
	run.Status.InitializeConditions()
	run.Status.MarkCustomRunRunning(reasons.Running.String(), "Retrying after %s (attempt %d of %d)", o.Reason, len(retries)+1, run.Spec.Retries+1)
	logging.FromContext(ctx).Infow("Retrying", zap.String("reason", o.Reason.String()), zap.Int("retry", len(retries)))
	event(ctx, run, corev1.EventTypeWarning, o.Reason, fmt.Sprintf("Retrying: %s", o.Message))
	return controller.NewRequeueImmediately()
}

// stale fails with a requeue when the API server holds a newer copy of the run than
// the informer gave. A failed attempt is only recorded from the newest
// copy: an older one may not yet show that the attempt already ended (its
// pod deleted by a retry or after success), and would count it twice.
func (r *Reconciler) stale(ctx context.Context, run *v1beta1.CustomRun) error {
	latest, err := r.pipeline.TektonV1beta1().CustomRuns(run.Namespace).Get(ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("getting the latest CustomRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	if latest.ResourceVersion != run.ResourceVersion {
		// The newer copy reaching the cache enqueues the run; the requeue
		// covers a cache that is slow to catch up.
		return controller.NewRequeueAfter(staleRecheck)
	}
	return nil
}

// cleanup removes what the run's current attempt created in every source.
func (r *Reconciler) cleanup(ctx context.Context, run *v1beta1.CustomRun) error {
	for _, src := range r.Sources {
		if err := src.Cleanup(ctx, run); err != nil {
			return fmt.Errorf("cleaning up CustomRun %s/%s: %w", run.Namespace, run.Name, err)
		}
	}
	return nil
}

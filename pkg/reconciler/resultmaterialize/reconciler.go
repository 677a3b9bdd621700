// Package resultmaterialize reconciles CustomRuns of kind
// ResultMaterialize: it reads result files from the run's workspace and
// surfaces them as CustomRun results.
package resultmaterialize

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	rmv1alpha1 "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/client/listers/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/metrics"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	customrunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1beta1/customrun"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
)

// Reconciler materializes the results of ResultMaterialize CustomRuns.
type Reconciler struct {
	// Clock tells the time for timeouts and retries.
	Clock clock.PassiveClock
	// Sources read the workspace bindings.
	Sources workspace.Sources
	// Metrics counts outcomes; nil records nothing.
	Metrics *metrics.Recorder

	lister   v1alpha1.ResultMaterializeLister
	pipeline versioned.Interface
}

var _ customrunreconciler.Interface = (*Reconciler)(nil)

// ReconcileKind drives one CustomRun through its lifecycle: start, then
// cancellation, timeout or a read attempt, until it is done.
func (r *Reconciler) ReconcileKind(ctx context.Context, run *v1beta1.CustomRun) pkgreconciler.Event {
	logger := logging.FromContext(ctx).With("attempt", run.GetRetryCount())
	ctx = logging.WithLogger(ctx, logger)
	if !run.HasStarted() {
		now := r.Clock.Now()
		run.Status.StartTime = nowTime(now)
		run.Status.InitializeConditions()
		run.Status.MarkCustomRunRunning(reasons.Running.String(), "Reading result files from the workspace")
		event(ctx, run, corev1.EventTypeNormal, reasons.Running, "Started materializing results")
	}
	if run.IsDone() {
		// The reader pod's output was read, or the run failed: remove it.
		return r.cleanup(ctx, run)
	}
	if run.IsCancelled() {
		if err := r.cleanup(ctx, run); err != nil {
			return err
		}
		r.fail(ctx, run, &materialize.Failure{Reason: reasons.Cancelled,
			Message: fmt.Sprintf("CustomRun %q was cancelled: %s", run.Name, run.Spec.StatusMessage)})
		return nil
	}
	if run.HasTimedOut(r.Clock) {
		return r.retryOrFail(ctx, run, &workspace.TransientError{Reason: reasons.TimedOut,
			Message: fmt.Sprintf("CustomRun %q attempt %d did not finish within its timeout of %s", run.Name, run.GetRetryCount(), run.GetTimeout())})
	}
	return r.reconcile(ctx, run)
}

func (r *Reconciler) reconcile(ctx context.Context, run *v1beta1.CustomRun) pkgreconciler.Event {
	cfg := config.FromContext(ctx)
	res, fail, err := r.resolve(ctx, run)
	if err != nil {
		return err
	}
	if fail != nil {
		r.fail(ctx, run, fail)
		return nil
	}
	binding, fail := workspace.Select(run, res.workspace)
	if fail != nil {
		r.fail(ctx, run, fail)
		return nil
	}
	src, fail := r.Sources.For(binding, cfg.AllowSecretWorkspaces)
	if fail != nil {
		r.fail(ctx, run, fail)
		return nil
	}
	reports, err := src.Read(ctx, run, binding, res.plan.Requests())
	var transient *workspace.TransientError
	switch {
	case errors.Is(err, workspace.ErrPending):
		return r.waitFor(run, err)
	case errors.As(err, &transient):
		return r.retryOrFail(ctx, run, transient)
	case errors.As(err, &fail):
		r.fail(ctx, run, fail)
		return nil
	case err != nil:
		return err
	}
	outcome, fail := materialize.Materialize(res.plan, reports)
	if fail != nil {
		r.fail(ctx, run, fail)
		return nil
	}
	return r.succeed(ctx, run, outcome)
}

// waitFor re-queues the run when the source asks to look again or when the
// run's timeout expires, whichever is first, so a read that never
// progresses still ends. A run without spec.timeout has Tekton's default
// of 60 minutes; a timeout of 0 means none.
func (r *Reconciler) waitFor(run *v1beta1.CustomRun, err error) error {
	var after time.Duration
	var pending *workspace.PendingError
	if errors.As(err, &pending) {
		after = pending.RecheckAfter
	}
	if timeout := run.GetTimeout(); timeout > 0 && run.Status.StartTime != nil {
		left := timeout - r.Clock.Since(run.Status.StartTime.Time)
		if after == 0 || left < after {
			after = left
		}
	}
	if after <= 0 {
		return nil
	}
	return controller.NewRequeueAfter(after)
}

func (r *Reconciler) succeed(ctx context.Context, run *v1beta1.CustomRun, out materialize.Outcome) error {
	run.Status.Results = make([]v1beta1.CustomRunResult, len(out.Values))
	for i, v := range out.Values {
		run.Status.Results[i] = v1beta1.CustomRunResult{Name: v.Name, Value: v.Value}
	}
	if err := run.Status.EncodeExtraFields(rmv1alpha1.ExtraFields{Results: out.Rows}); err != nil {
		return fmt.Errorf("encoding extraFields: %w", err)
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
	r.Metrics.RunDone(ctx, reasons.Materialized)
	r.Metrics.Materialized(ctx, out.Rows)
	event(ctx, run, corev1.EventTypeNormal, reasons.Materialized, msg)
	return nil
}

func (r *Reconciler) fail(ctx context.Context, run *v1beta1.CustomRun, f *materialize.Failure) {
	run.Status.MarkCustomRunFailed(f.Reason.String(), "%s", f.Message)
	r.Metrics.RunDone(ctx, f.Reason)
	logging.FromContext(ctx).Infow("CustomRun failed", zap.String("reason", f.Reason.String()), zap.String("message", f.Message))
	event(ctx, run, corev1.EventTypeWarning, f.Reason, f.Message)
}

// retryOrFail records a failed attempt and starts another while
// spec.retries allows, and fails the run with the attempt's reason after.
func (r *Reconciler) retryOrFail(ctx context.Context, run *v1beta1.CustomRun, t *workspace.TransientError) error {
	if stale, err := r.stale(ctx, run); stale || err != nil {
		return err
	}
	if err := r.cleanup(ctx, run); err != nil {
		return err
	}
	if run.GetRetryCount() >= run.Spec.Retries {
		r.fail(ctx, run, &materialize.Failure{Reason: t.Reason, Message: t.Message})
		return nil
	}
	attempt := run.Status.DeepCopy()
	attempt.MarkCustomRunFailed(t.Reason.String(), "%s", t.Message)
	attempt.RetriesStatus = nil
	retries := append(slices.Clone(run.Status.RetriesStatus), *attempt)
	run.Status = v1beta1.CustomRunStatus{}
	run.Status.RetriesStatus = retries
	run.Status.StartTime = nowTime(r.Clock.Now())
	run.Status.InitializeConditions()
	run.Status.MarkCustomRunRunning(reasons.Running.String(), "Retrying after %s (attempt %d of %d)", t.Reason, len(retries)+1, run.Spec.Retries+1)
	logging.FromContext(ctx).Infow("Retrying", zap.String("reason", t.Reason.String()), zap.Int("retry", len(retries)))
	event(ctx, run, corev1.EventTypeWarning, t.Reason, fmt.Sprintf("Retrying: %s", t.Message))
	return controller.NewRequeueImmediately()
}

// stale reports whether the API server holds a newer copy of the run than
// the informer gave. A failed attempt is only recorded from the newest
// copy: an older one may not yet show that the attempt already ended (its
// pod deleted by a retry or after success), and would count it twice.
func (r *Reconciler) stale(ctx context.Context, run *v1beta1.CustomRun) (bool, error) {
	latest, err := r.pipeline.TektonV1beta1().CustomRuns(run.Namespace).Get(ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("getting the latest CustomRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	if latest.ResourceVersion != run.ResourceVersion {
		return true, controller.NewRequeueImmediately()
	}
	return false, nil
}

// cleanup removes what the run's current attempt created in every source.
func (r *Reconciler) cleanup(ctx context.Context, run *v1beta1.CustomRun) error {
	for _, src := range []workspace.Source{r.Sources.ConfigMap, r.Sources.Volume} {
		if src == nil {
			continue
		}
		if err := src.Cleanup(ctx, run); err != nil {
			return fmt.Errorf("cleaning up CustomRun %s/%s: %w", run.Namespace, run.Name, err)
		}
	}
	return nil
}

func event(ctx context.Context, run *v1beta1.CustomRun, kind string, reason reasons.Reason, msg string) {
	if rec := controller.GetEventRecorder(ctx); rec != nil {
		rec.Event(run, kind, reason.String(), msg)
	}
}

package resultmaterialize

import (
	"context"
	"fmt"
	"slices"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/logging"
)

// readingMessage is the Running condition's message while nothing outside
// the run holds it up.
const readingMessage = "Reading result files from the workspace"

// showWait puts on the run's Running condition what a waiting outcome
// waits on, and takes it off once the run waits on nothing outside it.
// The condition changes only when the cause or its words do: a run that
// keeps waiting writes no status. A Warning Event says when a cause starts.
func showWait(ctx context.Context, run *v1beta1.CustomRun, o *outcome.Outcome) {
	c := run.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case o.Reason != "":
		if c == nil || c.Reason != o.Reason.String() {
			logging.FromContext(ctx).Infow("Waiting", zap.String("reason", o.Reason.String()), zap.String("message", o.Message))
			event(ctx, run, corev1.EventTypeWarning, o.Reason, o.Message)
		}
		run.Status.MarkCustomRunRunning(o.Reason.String(), "%s", o.Message)
	case waitedOn(run) != "":
		run.Status.MarkCustomRunRunning(reasons.Running.String(), readingMessage)
	}
}

// waitedOn is what the run's condition says it waits on, or "": a
// timeout names it, so it says why and not only when.
func waitedOn(run *v1beta1.CustomRun) string {
	c := run.Status.GetCondition(apis.ConditionSucceeded)
	if c == nil || !c.IsUnknown() || !slices.Contains(reasons.Waiting, reasons.Reason(c.Reason)) {
		return ""
	}
	return fmt.Sprintf("%s: %s", c.Reason, c.Message)
}

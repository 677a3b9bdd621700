package resultmaterialize

import (
	"context"

	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"knative.dev/pkg/controller"
)

// reports holds what a reconcile tells the world (Events, outcome
// metrics) until its status is written: a write that conflicts or fails
// drops them, and the reconcile of the newer copy reports what really
// happened, once.
type reports struct{ pending []func() }

type reportsKey struct{}

func withReports(ctx context.Context) (context.Context, *reports) {
	r := &reports{}
	return context.WithValue(ctx, reportsKey{}, r), r
}

// later runs report once the reconcile's status is written; outside a
// reconcile, at once.
func later(ctx context.Context, report func()) {
	if r, ok := ctx.Value(reportsKey{}).(*reports); ok {
		r.pending = append(r.pending, report)
		return
	}
	report()
}

func (r *reports) send() {
	for _, report := range r.pending {
		report()
	}
	r.pending = nil
}

func event(ctx context.Context, run *v1beta1.CustomRun, kind string, reason reasons.Reason, msg string) {
	if rec := controller.GetEventRecorder(ctx); rec != nil {
		later(ctx, func() { rec.Event(run, kind, reason.String(), msg) })
	}
}

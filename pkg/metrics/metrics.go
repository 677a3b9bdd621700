// Package metrics records what the controller does as OpenTelemetry
// instruments; knative's sharedmain exports them as config-observability
// says (Prometheus on :9090 by default).
package metrics

import (
	"context"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"time"

	"github.com/resultmaterialize/controller/pkg/reasons"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names; Prometheus adds _total to counters and the unit to
// the others (_bytes_total, _seconds).
const (
	Runs           = "resultmaterialize_runs"
	ReadBytes      = "resultmaterialize_read_bytes"
	Results        = "resultmaterialize_results"
	ReaderDuration = "resultmaterialize_reader_duration"
	Reconciles     = "resultmaterialize_reconciles"
)

// Names lists every instrument; docs/metrics.md must document each one.
var Names = []string{Runs, ReadBytes, Results, ReaderDuration, Reconciles}

// Recorder holds the instruments. Its methods are safe on a nil Recorder.
type Recorder struct {
	runs    metric.Int64Counter
	bytes   metric.Int64Counter
	results metric.Int64Counter
	reader  metric.Float64Histogram
	// reconciles counts ReconcileKind calls: the replica that leads the
	// run's bucket makes them; the others skip the key.
	reconciles metric.Int64Counter
}

// New creates the instruments on the provider's meter.
func New(mp metric.MeterProvider) (*Recorder, error) {
	m := mp.Meter("github.com/resultmaterialize/controller")
	var r Recorder
	var err error
	if r.runs, err = m.Int64Counter(Runs,
		metric.WithDescription("Finished ResultMaterialize runs by reason")); err != nil {
		return nil, fmt.Errorf("creating the runs counter: %w", err)
	}
	if r.bytes, err = m.Int64Counter(ReadBytes, metric.WithUnit("By"),
		metric.WithDescription("Bytes of result files read (hashed) by successful runs, by the disposition of their result")); err != nil {
		return nil, fmt.Errorf("creating the bytes counter: %w", err)
	}
	if r.results, err = m.Int64Counter(Results,
		metric.WithDescription("Materialized results by disposition: Inline, Reference, Truncated, Demoted, Defaulted")); err != nil {
		return nil, fmt.Errorf("creating the results counter: %w", err)
	}
	if r.reader, err = m.Float64Histogram(ReaderDuration, metric.WithUnit("s"),
		metric.WithDescription("Time from creating a reader pod to reading its output"),
		metric.WithExplicitBucketBoundaries(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600)); err != nil {
		return nil, fmt.Errorf("creating the reader histogram: %w", err)
	}
	if r.reconciles, err = m.Int64Counter(Reconciles,
		metric.WithDescription("Reconciles of ResultMaterialize CustomRuns by the replica that leads their bucket")); err != nil {
		return nil, fmt.Errorf("creating the reconciles counter: %w", err)
	}
	return &r, nil
}

// Reconciled counts one reconcile of a run.
func (r *Recorder) Reconciled(ctx context.Context) {
	if r == nil {
		return
	}
	r.reconciles.Add(ctx, 1)
}

// RunDone counts a finished run.
func (r *Recorder) RunDone(ctx context.Context, reason reasons.Reason) {
	if r == nil {
		return
	}
	r.runs.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason.String())))
}

// Materialized counts the results of a successful run and their files'
// bytes, by disposition: inline, by reference, truncated... A projection
// counts its source file, once however many results project it.
func (r *Recorder) Materialized(ctx context.Context, rows []resultmaterialize.Row) {
	if r == nil {
		return
	}
	sources := map[string]bool{}
	for _, row := range rows {
		disposition := metric.WithAttributes(attribute.String("disposition", string(row.Reason)))
		r.results.Add(ctx, 1, disposition)
		switch {
		case row.Source.Path == "":
			r.bytes.Add(ctx, row.Size, disposition)
		case !sources[row.Source.Path]:
			sources[row.Source.Path] = true
			r.bytes.Add(ctx, row.Source.Size, disposition)
		}
	}
}

// ReaderLatency records how long a reader pod took.
func (r *Recorder) ReaderLatency(ctx context.Context, d time.Duration) {
	if r == nil {
		return
	}
	r.reader.Record(ctx, d.Seconds())
}

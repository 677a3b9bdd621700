package resultmaterialize

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	corev1 "k8s.io/api/core/v1"
)

// sums returns each counter's data points as "name attr=value" -> sum.
func sums(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.metrics.Collect(e.ctx, &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				key := m.Name
				for _, kv := range dp.Attributes.ToSlice() {
					key += " " + string(kv.Key) + "=" + kv.Value.AsString()
				}
				out[key] += dp.Value
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	ok := newRun("ok", withConfigMapWorkspace("ws", "files"), withParam("results", "flag", "blob"))
	bad := newRun("bad", withConfigMapWorkspace("ws", "files"), withParam("results", "nope"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{ok, bad}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	for _, name := range []string{"ok", "bad"} {
		if _, err := e.reconcile(t, name); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{
		"resultmaterialize_runs reason=Materialized":         1,
		"resultmaterialize_runs reason=ResultMissing":        1,
		"resultmaterialize_read_bytes disposition=Inline":    3,
		"resultmaterialize_read_bytes disposition=Reference": 5000,
		"resultmaterialize_results disposition=Inline":       1,
		"resultmaterialize_results disposition=Reference":    1,
		"resultmaterialize_reconciles":                       2,
	}
	if d := cmp.Diff(want, sums(t, e)); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/ok", "customruns/bad"}})
}

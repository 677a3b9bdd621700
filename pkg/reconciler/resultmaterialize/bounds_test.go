package resultmaterialize

import (
	"fmt"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
)

// slowDocument is a document whose CEL comparison is slow for its cost:
// a and b are one-item lists (CEL charges == by that top-level size)
// holding 20,000 strings each, compared for each of 4,000 items of l.
func slowDocument() string {
	items := make([]string, 20000)
	for i := range items {
		items[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	list := "[" + strings.Join(items, ",") + "]"
	l := make([]string, 4000)
	for i := range l {
		l[i] = fmt.Sprint(i)
	}
	return `{"l":[` + strings.Join(l, ",") + `],"a":[` + list + `],"b":[` + list + `]}`
}

// TestSlowProjectionsEndWithinTheReconcile is the run that hung: eight
// slow CEL results over one ConfigMap, each of which once had 10 s of its
// own, past the reconcile's deadline, so no status was ever written. Now
// all of a run's projections share the controller's projection time, the
// run fails naming it, and the status (start time included) is written.
func TestSlowProjectionsEndWithinTheReconcile(t *testing.T) {
	var results []string
	for i := range 8 {
		results = append(results, fmt.Sprintf(`{"name":"r%d","path":"doc.json","expression":"doc.l.all(x, doc.a == doc.b)"}`, i))
	}
	spec := `{"results":[` + strings.Join(results, ",") + `]}`
	run := newRun("slow", withConfigMapWorkspace("ws", "slow"), withEmbedded(spec))
	cm := configMap("slow", map[string]string{"doc.json": slowDocument()})
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{cm}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	c := condition(got)
	if !got.IsDone() || c.Reason != string(reasons.ProjectionCostExceeded) || got.Status.StartTime == nil {
		t.Fatalf("condition %s %q, start %v: want Failed %s with the status written", c.Reason, c.Message, got.Status.StartTime, reasons.ProjectionCostExceeded)
	}
	if strings.Contains(c.Message, `"0"`) || strings.Contains(c.Message, "19999") {
		t.Errorf("message %q quotes the document", c.Message)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/slow"}})
}

// TestProjectionsWaitForTheControllerMemory checks that ConfigMap
// projections reserve their estimated memory from the controller-wide
// budget: while other work holds it, the run waits without failing, and
// it finishes once the memory is free.
func TestProjectionsWaitForTheControllerMemory(t *testing.T) {
	run := newRun("proj", withConfigMapWorkspace("ws", "metrics"), withEmbedded(projectionSpec))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{projectionFiles}}, nil, nil)
	release, ok := e.memory.Hold(e.memory.Size())
	if !ok {
		t.Fatal("could not hold the whole budget")
	}
	got, err := e.reconcile(t, run.Name)
	if c := condition(got); err == nil || got.IsDone() || c.Reason != string(reasons.ControllerMemoryBusy) || !strings.Contains(c.Message, "held by other runs' projections") {
		t.Fatalf("err %v, condition %+v: want a requeue, Running %s, while the memory is held", err, c, reasons.ControllerMemoryBusy)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/proj"}})
	release()
	got, err = e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded once the memory is free", err, condition(got))
	}
	checkProjected(t, got)
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/proj"}})
}

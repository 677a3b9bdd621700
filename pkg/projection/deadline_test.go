package projection

import (
	"bytes"
	"context"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// slowDoc is the shape of the ConfigMap: about 965 kB, where each
// step of doc.l.all(x, doc.a == doc.b) compares two lists of 240,001
// numbers, and CEL's own costs charge that comparison 1.
var slowDoc = func() string {
	big := "[[" + strings.Repeat("0,", 240000) + "0]]"
	return `{"l": [` + strings.Repeat("0,", 2000) + `0], "a": ` + big + `, "b": ` + big + `}`
}()

const slowExpression = "doc.l.all(x, doc.a == doc.b)"

func ranOutOfTime(e *Error) bool {
	return e != nil && e.Reason == reasons.ProjectionCostExceeded && strings.Contains(e.Message, "ran out of time")
}

// TestCELStopsWhenItsContextEnds: the expression checks its caller's
// context at every step of a comprehension, so it stops at the first
// step after the deadline, with the deadline's message.
func TestCELStopsWhenItsContextEnds(t *testing.T) {
	q, err := Compile(protocol.Projection{Expression: slowExpression})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseJSON(newClock(context.Background()), []byte(slowDoc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, e := q.expr.eval(newClock(ctx), doc, newBudget(1<<20))
	if !ranOutOfTime(e) || !strings.Contains(e.Message, "the caller's deadline left 0s") {
		t.Fatalf("eval after the deadline = %+v; want ProjectionCostExceeded saying the time ran out, and how much there was", e)
	}
}

// TestSlowResultsStopAtTheCallersDeadline is the case: eight such
// results took 10 s each, whatever the caller's deadline. Now all of them
// fail once the deadline passes, well within one expression's Timeout.
func TestSlowResultsStopAtTheCallersDeadline(t *testing.T) {
	reqs := make([]protocol.FileRequest, 8)
	for i := range reqs {
		reqs[i] = protocol.FileRequest{Path: "doc.json", Projection: &protocol.Projection{Expression: slowExpression, MaxBytes: 4 << 20}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	reports, err := Reports(ctx, strings.NewReader(slowDoc), int64(len(slowDoc)), reqs)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	for i, rep := range reports {
		if rep.Error == nil || rep.Error.Reason != reasons.ProjectionCostExceeded {
			t.Errorf("result %d = %+v; want ProjectionCostExceeded", i, rep.Error)
		}
		if rep.Source == nil || rep.Source.Size != int64(len(slowDoc)) {
			t.Errorf("result %d has source %+v; want the whole file's size and digest", i, rep.Source)
		}
	}
	if last := reports[len(reports)-1].Error; last == nil || !strings.Contains(last.Message, "ran out of time") {
		t.Errorf("the last result = %+v; want it cut short by the deadline", last)
	}
	if took > Timeout/2 {
		t.Errorf("eight results took %s past a 100ms deadline", took)
	}
}

// countingReader counts the bytes read, and cancels after the first read
// when cancel is set.
type countingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.cancel != nil {
		c.cancel()
	}
	return n, err
}

// TestEndedContextReadsNothing: every kind of query fails at once when
// its context has already ended, without reading the file.
func TestEndedContextReadsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, p := range []protocol.Projection{
		{JSONPath: "{.a.b}"},
		{JSONPath: "{.items[*].name}"},
		{Expression: "doc.a.b"},
		{JSONPath: "{.a.b}", Format: resultmaterialize.SyntaxYAML},
	} {
		q, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		r := &countingReader{r: bytes.NewReader([]byte(`{"a": {"b": 1}, "items": []}`))}
		out, err := Evaluate(ctx, r, 30, []*Query{q}, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if e := out[0].Err; e == nil || e.Reason != reasons.ProjectionCostExceeded || !strings.Contains(e.Message, "was stopped before it finished") || r.n != 0 {
			t.Errorf("%+v after its context ended = %+v, reading %d bytes; want ProjectionCostExceeded and nothing read", p, out[0], r.n)
		}
	}
}

// TestStreamingStopsAtTheNextRefill: a context that ends while a simple
// path streams a 64 MiB document stops the scan at its next read.
func TestStreamingStopsAtTheNextRefill(t *testing.T) {
	q, err := Compile(protocol.Projection{JSONPath: "{.a.b}"})
	if err != nil {
		t.Fatal(err)
	}
	size := count(64 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &countingReader{r: newDocument(size), cancel: cancel}
	out, err := Evaluate(ctx, r, size, []*Query{q}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if e := out[0].Err; e == nil || e.Reason != reasons.ProjectionCostExceeded || r.n > streamBuffer {
		t.Errorf("stream cancelled after its first read = %+v, reading %d of %d bytes; want ProjectionCostExceeded after one buffer", out[0], r.n, size)
	}
}

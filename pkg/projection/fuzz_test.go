package projection

import (
	"context"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

var projectionReasons = []reasons.Reason{
	reasons.ProjectionInvalidDocument, reasons.ProjectionNoMatch, reasons.ProjectionTooLarge,
	reasons.ProjectionCostExceeded, reasons.ProjectionEvalFailed,
}

func evaluate(t *testing.T, q *Query, doc string) Result {
	t.Helper()
	return evaluateFrom(t, q, strings.NewReader(doc), len(doc))
}

func evaluateFrom(t *testing.T, q *Query, r io.Reader, size int) Result {
	t.Helper()
	out, err := Evaluate(context.Background(), r, int64(size), []*Query{q}, 1<<20)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if e := out[0].Err; e != nil && !slices.Contains(projectionReasons, e.Reason) {
		t.Fatalf("error with reason %q: %v", e.Reason, e)
	}
	return out[0]
}

// FuzzStreamMatchesParse checks that a streamed simple path gives what
// kubectl's JSONPath gives on the parsed document, value or reason. The
// stream is read one byte at a time, so every key, escape, number,
// literal and captured value crosses a refill.
func FuzzStreamMatchesParse(f *testing.F) {
	f.Add(metrics, "{.shards[1].name}")
	f.Add(`{"a":{"b":[1,{"c":"\u00e9\n"}]}}`, "{.a.b[1].c}")
	f.Add(`{"a":1,"a":{"b":2}}`, "{.a.b}")
	f.Add(`{"a":[1,2,3]}`, "{.a[5]}")
	f.Add(`{"a":-0.5e+10}`, "{.a}")
	f.Add(`{"a":"x"} `, "{['a']}")
	f.Add(`[{"a":1}]`, "{[0].a}")
	f.Add(`{"xx\u0041\u0042": 1, "a": 2}`, "{.a}")
	f.Fuzz(func(t *testing.T, doc, path string) {
		q, err := Compile(protocol.Projection{JSONPath: path})
		if err != nil || !q.Streams() {
			return
		}
		streamed := evaluateFrom(t, q, iotest.OneByteReader(strings.NewReader(doc)), len(doc))
		parsed := evaluate(t, &Query{spec: q.spec, jp: q.jp}, doc)
		switch {
		case (streamed.Err == nil) != (parsed.Err == nil):
			t.Fatalf("%q on %q: streamed %q, %v; parsed %q, %v", path, doc, streamed.Value, streamed.Err, parsed.Value, parsed.Err)
		case streamed.Err != nil && streamed.Err.Reason != parsed.Err.Reason:
			t.Fatalf("%q on %q: streamed %v; parsed %v", path, doc, streamed.Err, parsed.Err)
		case streamed.Value != parsed.Value:
			t.Fatalf("%q on %q: streamed %q; parsed %q", path, doc, streamed.Value, parsed.Value)
		}
	})
}

// FuzzYAML checks that any YAML input gives a value or a typed reason.
func FuzzYAML(f *testing.F) {
	f.Add("a: 1\nb: [x, y]\n", "{.b[*]}", false)
	f.Add("a: &x [1]\nb: *x\n", "{.b}", true)
	f.Add("? [a]\n: 1\n", "{.a}", false)
	f.Add("a: .nan\n", "{.a}", false)
	f.Fuzz(func(t *testing.T, doc, path string, array bool) {
		q, err := Compile(protocol.Projection{JSONPath: path, Format: resultmaterialize.SyntaxYAML, Array: array})
		if err != nil {
			return
		}
		evaluate(t, q, doc)
	})
}

// FuzzExpression checks that any expression that compiles gives a value
// or a typed reason on any JSON input.
func FuzzExpression(f *testing.F) {
	f.Add(metrics, "doc.accuracy > 0.9", false)
	f.Add(`{"a":[1,2]}`, "doc.a.map(x, x * 2)", true)
	f.Add(`{"a":{"1":2}}`, "{1: doc.a}", false)
	f.Add(`{"a":1e308}`, "doc.a * 10.0", false)
	f.Add(`{"a":"x"}`, "doc.a.matches('[')", false)
	f.Fuzz(func(t *testing.T, doc, expr string, array bool) {
		q, err := Compile(protocol.Projection{Expression: expr, Array: array})
		if err != nil {
			return
		}
		evaluate(t, q, doc)
	})
}

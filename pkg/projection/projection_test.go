package projection

import (
	"bytes"
	"context"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"runtime"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

const metrics = `{"accuracy": 0.93, "loss": 0.07, "epochs": 12, "big": 12345678901234567890,
 "name": "resnet", "ok": true, "none": null, "tags": ["a", "b<c>"],
 "shards": [{"name": "s1", "rows": 10}, {"name": "s2", "rows": 20}],
 "nested": {"z": 1, "a": {"k": "v"}}, "dup": 1, "dup": 2}`

func project(t *testing.T, doc string, p protocol.Projection) Result {
	t.Helper()
	if p.MaxBytes == 0 {
		p.MaxBytes = 1 << 20
	}
	q, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", p, err)
	}
	out, err := Evaluate(context.Background(), strings.NewReader(doc), int64(len(doc)), []*Query{q}, p.MaxBytes)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return out[0]
}

func TestOutputRules(t *testing.T) {
	for _, tc := range []struct {
		query string
		array bool
		want  string
	}{
		{query: "{.accuracy}", want: "0.93"},
		{query: "{.epochs}", want: "12"},
		{query: "{.big}", want: "12345678901234567890"},
		{query: "{.name}", want: "resnet"},
		{query: "{.ok}", want: "true"},
		{query: "{.none}", want: "null"},
		{query: "{.tags}", want: `["a","b<c>"]`},
		{query: "{.nested}", want: `{"a":{"k":"v"},"z":1}`},
		{query: "{.shards[1].name}", want: "s2"},
		{query: "{.shards[*].name}", want: "s1 s2"},
		{query: "{.shards[?(@.rows>15)].name}", want: "s2"},
		{query: "{.name}-{.epochs}", want: "resnet-12"},
		{query: "{.dup}", want: "2"},
		{query: "{.shards[*].name}", array: true, want: `["s1","s2"]`},
		{query: "{.tags}", array: true, want: `["a","b<c>"]`},
		{query: "{.shards[*].rows}", array: true, want: `["10","20"]`},
		{query: "{.name}", array: true, want: `["resnet"]`},
		{query: "{.shards[0]}", array: true, want: `["{\"name\":\"s1\",\"rows\":10}"]`},
		{query: "doc.accuracy > 0.9 && doc.loss < 0.1", want: "true"},
		{query: "doc.epochs * 2", want: "24"},
		{query: "doc.name + '-' + string(doc.epochs)", want: "resnet-12"},
		{query: "doc.shards.map(s, s.name)", want: `["s1","s2"]`},
		{query: "doc.shards.map(s, s.name)", array: true, want: `["s1","s2"]`},
		{query: "doc.shards.filter(s, s.rows > 15)[0]", want: `{"name":"s2","rows":20}`},
		{query: "doc.epochs == 12.0", want: "true"},
		{query: "doc.none", want: "null"},
	} {
		p := protocol.Projection{JSONPath: tc.query, Array: tc.array}
		if strings.HasPrefix(tc.query, "doc") {
			p = protocol.Projection{Expression: tc.query, Array: tc.array}
		}
		got := project(t, metrics, p)
		if got.Err != nil || got.Value != tc.want {
			t.Errorf("%q (array %v) = %q, %v; want %q", tc.query, tc.array, got.Value, got.Err, tc.want)
		}
	}
}

func TestStreamsOnlySimplePaths(t *testing.T) {
	for query, want := range map[string]bool{
		"{.a}": true, "{.a.b}": true, "{.items[3].name}": true, "{['a.b'].c}": true,
		"{.items[-1]}": false, "{.items[*]}": false, "{.a}{.b}": false,
		"x{.a}": false, "{.items[1:2]}": false, "{.items[?(@.a)]}": false, "{['a','b']}": false,
	} {
		q, err := Compile(protocol.Projection{JSONPath: query})
		if err != nil {
			t.Fatalf("Compile(%q): %v", query, err)
		}
		if q.Streams() != want {
			t.Errorf("Compile(%q).Streams() = %v, want %v", query, q.Streams(), want)
		}
		if yq, _ := Compile(protocol.Projection{JSONPath: query, Format: resultmaterialize.SyntaxYAML}); yq.Streams() {
			t.Errorf("%q with format yaml streams; YAML is parsed whole", query)
		}
	}
}

func TestYAML(t *testing.T) {
	doc := "accuracy: 0.93\nshards:\n  - name: s1\n  - name: s2\n1: one\n"
	for query, want := range map[string]string{
		"{.accuracy}":        "0.93",
		"{.shards[1].name}":  "s2",
		"{.1}":               "one",
		"doc.accuracy > 0.9": "true",
	} {
		p := protocol.Projection{JSONPath: query, Format: resultmaterialize.SyntaxYAML}
		if strings.HasPrefix(query, "doc") {
			p = protocol.Projection{Expression: query, Format: resultmaterialize.SyntaxYAML}
		}
		if got := project(t, doc, p); got.Err != nil || got.Value != want {
			t.Errorf("%q = %q, %v; want %q", query, got.Value, got.Err, want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		p    protocol.Projection
		want reasons.Reason
		msg  string
	}{
		{"invalid JSON, streamed", `{"a": 1,}`, protocol.Projection{JSONPath: "{.a}"}, reasons.ProjectionInvalidDocument, "at byte offset 8"},
		{"invalid JSON, parsed", `{"a": [1,}`, protocol.Projection{JSONPath: "{.a[*]}"}, reasons.ProjectionInvalidDocument, "at byte offset 9"},
		{"truncated JSON", `{"a": {"b": 1}`, protocol.Projection{JSONPath: "{.a.b}"}, reasons.ProjectionInvalidDocument, "unexpected end"},
		{"trailing data", `{"a": 1} {}`, protocol.Projection{JSONPath: "{.a}"}, reasons.ProjectionInvalidDocument, "data after"},
		{"empty file", ``, protocol.Projection{JSONPath: "{.a}"}, reasons.ProjectionInvalidDocument, "unexpected end"},
		{"invalid YAML", "a: [1,\nb: 2\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "line"},
		{"two YAML documents", "a: 1\n---\na: 2\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "more than one"},
		{"no such key", `{"a": 1}`, protocol.Projection{JSONPath: "{.b}"}, reasons.ProjectionNoMatch, "matches nothing"},
		{"index out of range", `{"a": [1]}`, protocol.Projection{JSONPath: "{.a[3]}"}, reasons.ProjectionNoMatch, "matches nothing"},
		{"wildcard over nothing", `{"a": []}`, protocol.Projection{JSONPath: "{.a[*].b}"}, reasons.ProjectionNoMatch, "matches nothing"},
		{"CEL no such key", `{"a": 1}`, protocol.Projection{Expression: "doc.b"}, reasons.ProjectionNoMatch, "no such key"},
		{"CEL runtime error", `{"a": 0}`, protocol.Projection{Expression: "1 / doc.a"}, reasons.ProjectionEvalFailed, "division by zero"},
		{"CEL type error", `{"a": "x"}`, protocol.Projection{Expression: "doc.a + 1"}, reasons.ProjectionEvalFailed, "no such overload"},
		{"CEL cost", `{"a": [` + strings.Repeat("1,", 2000) + `1]}`, protocol.Projection{Expression: "doc.a.map(x, doc.a.map(y, x + y)).size()"}, reasons.ProjectionCostExceeded, "cost limit"},
		{"whole parse over the limit", `{"a": [1, 2, 3, 4]}`, protocol.Projection{JSONPath: "{.a[*]}", MaxBytes: 8}, reasons.ProjectionTooLarge, "max-projection-bytes of 8"},
		{"YAML over its share", "a: [1, 2, 3, 4, 5]\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML, MaxBytes: 40}, reasons.ProjectionTooLarge, "above 10, the 1/4 of max-projection-bytes"},
		{"streamed value over the limit", `{"a": [1, 2, 3, 4], "b": 1}`, protocol.Projection{JSONPath: "{.a}", MaxBytes: 8}, reasons.ProjectionTooLarge, "selects values above"},
		{"YAML aliases expanded past the limit", "a: &x " + strings.Repeat("y", 1000) + "\nb: [" + strings.Repeat("*x, ", 999) + "*x]\n", protocol.Projection{JSONPath: "{.b}", Format: resultmaterialize.SyntaxYAML, MaxBytes: 1 << 18}, reasons.ProjectionTooLarge, "gives a value above"},
		{"CEL list concatenation past the limit", `{"l": [` + strings.Repeat("1,", 999) + `1]}`, protocol.Projection{Expression: "doc.l" + strings.Repeat(" + doc.l", 200), MaxBytes: 1 << 20}, reasons.ProjectionTooLarge, "gives a value above"},
		{"a wildcard over a document too large to spread", `{"a": [1], "s": "` + strings.Repeat("z", 20000) + `"}`, protocol.Projection{JSONPath: "{.a[*]}", MaxBytes: 1 << 16}, reasons.ProjectionTooLarge, "would take about"},
		{"escapes counted as written", `{"a": "` + strings.Repeat(`\u0001`, 1000) + `"}`, protocol.Projection{JSONPath: "{.a}{.a}{.a}{.a}", Array: true, MaxBytes: 10000}, reasons.ProjectionTooLarge, "gives a value above"},
		{"small numbers that would not fit in memory", "[" + strings.Repeat("0,", 100000) + "0]", protocol.Projection{JSONPath: "{[*]}", MaxBytes: 1 << 18}, reasons.ProjectionTooLarge, "would take about"},
		{"YAML keys that collide", "1: a\n1.0: b\n", protocol.Projection{JSONPath: "{.1}", Format: resultmaterialize.SyntaxYAML}, reasons.ProjectionInvalidDocument, "the same once written as JSON strings"},
		{"filter over an object", `{"config": {"password": "hunter2"}}`, protocol.Projection{JSONPath: "{.config[?(@.x)]}"}, reasons.ProjectionNoMatch, "matches nothing"},
		{"filter comparing other types", `{"a": [{"x": "s"}]}`, protocol.Projection{JSONPath: "{.a[?(@.x > 1)]}"}, reasons.ProjectionEvalFailed, "cannot be evaluated"},
		{"too deep", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), protocol.Projection{JSONPath: "{.a}"}, reasons.ProjectionInvalidDocument, "max depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := project(t, tc.doc, tc.p)
			if got.Err == nil || got.Err.Reason != tc.want || !strings.Contains(got.Err.Message, tc.msg) {
				t.Fatalf("got %q, %+v; want %s containing %q", got.Value, got.Err, tc.want, tc.msg)
			}
			if strings.Contains(got.Err.Message, "hunter2") {
				t.Fatalf("the message quotes the document: %q", got.Err.Message)
			}
		})
	}
}

func TestSyntaxErrorsAtCompile(t *testing.T) {
	for _, p := range []protocol.Projection{
		{JSONPath: "{.a"},
		{JSONPath: "{.a[x]}"},
		{Expression: "doc.a >"},
		{Expression: "undeclared > 1"},
		{JSONPath: "{.a}", Expression: "doc.a"},
		{},
		{JSONPath: "{.a}", Format: "toml"},
		{Expression: strings.Repeat("1+", resultmaterialize.MaxQueryLength) + "1"},
		{JSONPath: "{accuracy}"},
		{JSONPath: ".accuracy"},
		{JSONPath: "{true}"},
		{JSONPath: "{.a[::0]}"},
		{JSONPath: "{..a}"},
		{Expression: "doc.s.replace('a', 'b')"},
	} {
		if err := Check(p.JSONPath, p.Expression, p.Format); err == nil {
			t.Errorf("Check(%+v) = nil, want a syntax error", p)
		}
	}
}

func TestSeveralQueriesReadTheFileOnce(t *testing.T) {
	for _, mixed := range []bool{false, true} {
		specs := []protocol.Projection{{JSONPath: "{.accuracy}"}, {JSONPath: "{.shards[0].name}"}, {JSONPath: "{.nested.a}"}}
		want := []string{"0.93", "s1", `{"k":"v"}`}
		if mixed {
			specs = append(specs, protocol.Projection{Expression: "doc.epochs > 10"})
			want = append(want, "true")
		}
		queries := make([]*Query, len(specs))
		for i, p := range specs {
			queries[i], _ = Compile(p)
		}
		r := &counter{r: strings.NewReader(metrics)}
		out, err := Evaluate(context.Background(), r, int64(len(metrics)), queries, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i := range out {
			if out[i].Err != nil || out[i].Value != want[i] {
				t.Errorf("mixed %v: query %d = %q, %v; want %q", mixed, i, out[i].Value, out[i].Err, want[i])
			}
		}
		if r.n != int64(len(metrics)) {
			t.Errorf("mixed %v: read %d bytes of a %d-byte file", mixed, r.n, len(metrics))
		}
	}
}

func TestStreamedValuesShareTheLimit(t *testing.T) {
	x, y := strings.Repeat("x", 40), strings.Repeat("y", 40)
	doc := `{"a": "` + x + `", "b": "` + y + `"}`
	a, _ := Compile(protocol.Projection{JSONPath: "{.a}"})
	b, _ := Compile(protocol.Projection{JSONPath: "{.b}"})
	out, err := Evaluate(context.Background(), strings.NewReader(doc), int64(len(doc)), []*Query{a, b}, 64)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Value != x || out[1].Err == nil || out[1].Err.Reason != reasons.ProjectionTooLarge {
		t.Errorf("got %+v; want the x, then ProjectionTooLarge: 84 bytes kept for two values over a limit of 64", out)
	}
}

func TestLongKeysAreNotKept(t *testing.T) {
	doc := `{"` + strings.Repeat("k", 1<<20) + `": 1, "a": 2}`
	q, _ := Compile(protocol.Projection{JSONPath: "{.a}"})
	out, err := Evaluate(context.Background(), strings.NewReader(doc), int64(len(doc)), []*Query{q}, 1<<20)
	if err != nil || out[0].Value != "2" {
		t.Fatalf("got %+v, %v; want 2", out, err)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	if _, _, err := streamPaths(strings.NewReader(doc), int64(len(doc)), [][]step{{{key: "a"}}}, 1<<20); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m)
	if grew := m.TotalAlloc - before; grew > 512<<10 {
		t.Errorf("scanning past a 1 MiB key allocated %d bytes; a key longer than any path's is not kept", grew)
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, fmt.Errorf("input/output error")
	}
	n := min(len(p), f.after)
	copy(p, bytes.Repeat([]byte("["), n))
	f.after -= n
	return n, nil
}

func TestReadErrorIsNotADocumentError(t *testing.T) {
	q, _ := Compile(protocol.Projection{JSONPath: "{.a}"})
	if _, err := Evaluate(context.Background(), &failingReader{after: 100}, 1000, []*Query{q}, 1<<20); err == nil || !strings.Contains(err.Error(), "input/output") {
		t.Fatalf("Evaluate over a failing read = %v, want the read error", err)
	}
}

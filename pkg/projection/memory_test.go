package projection

import (
	"bytes"
	"context"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"runtime"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	yaml "go.yaml.in/yaml/v3"
)

// aliasBomb is 11 kB of YAML that decodes to about 300,000 values, a
// third of them maps: b holds 1,000 aliases of a list of 100 one-key
// maps. p keeps the share of values copied from aliases under the 99%
// that yaml.v3 allows a document of fewer than 400,000 values.
var aliasBomb = "p: [" + strings.Repeat("0,", 3999) + "0]\na: &a [" + strings.Repeat("{k: 0},", 99) + "{k: 0}]\nb: [" + strings.Repeat("*a,", 999) + "*a]\n"

// allocated is what f allocates, garbage included: at least the most it
// holds at once.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// live is the heap f's result holds once garbage is collected.
func live(f func() any) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

func TestYAMLAliasBombIsRefusedBeforeExpanding(t *testing.T) {
	for _, p := range []protocol.Projection{
		{JSONPath: "{.a[0]}", Format: resultmaterialize.SyntaxYAML, MaxBytes: 1 << 20},
		{Expression: "size(doc.b)", Format: resultmaterialize.SyntaxYAML, MaxBytes: 1 << 20},
	} {
		var got Result
		took := allocated(func() { got = project(t, aliasBomb, p) })
		if got.Err == nil || got.Err.Reason != reasons.ProjectionTooLarge || !strings.Contains(got.Err.Message, "would take about") {
			t.Errorf("%s%s over a %d-byte alias bomb = %q, %+v; want ProjectionTooLarge for its memory", p.JSONPath, p.Expression, len(aliasBomb), got.Value, got.Err)
		}
		if took > 4<<20 {
			t.Errorf("%s%s allocated %d bytes before refusing; the expansion takes tens of MiB", p.JSONPath, p.Expression, took)
		}
	}
}

func TestYAMLAnchorsAndAliasesStillWork(t *testing.T) {
	doc := "base: &b {x: 1, y: [1, 2]}\nprod:\n  <<: *b\n  y: 3\nboth: [*b, *b]\nname: &n web\nalso: *n\n"
	for query, want := range map[string]string{
		"{.prod.x}":                   "1",
		"{.prod.y}":                   "3",
		"{.both[1].y}":                "[1,2]",
		"{.also}":                     "web",
		"size(doc.both) + doc.prod.x": "3",
	} {
		p := protocol.Projection{JSONPath: query, Format: resultmaterialize.SyntaxYAML}
		if strings.HasPrefix(query, "size") {
			p = protocol.Projection{Expression: query, Format: resultmaterialize.SyntaxYAML}
		}
		if got := project(t, doc, p); got.Err != nil || got.Value != want {
			t.Errorf("%q = %q, %v; want %q", query, got.Value, got.Err, want)
		}
	}
}

func TestYAMLAliasToItselfIsInvalid(t *testing.T) {
	got := project(t, "a: &a [1, *a]\n", protocol.Projection{JSONPath: "{.a}", Format: resultmaterialize.SyntaxYAML})
	if got.Err == nil || got.Err.Reason != reasons.ProjectionInvalidDocument {
		t.Fatalf("an anchor holding an alias to itself = %q, %+v; want ProjectionInvalidDocument", got.Value, got.Err)
	}
}

// TestParseCostBoundsLiveMemory: what a parsed document holds stays
// within the estimate the refusal and MemoryEstimate use, for the shapes
// that cost the most per byte: one-key JSON objects, which Go holds in a
// map of eight slots, and YAML aliases, which decoding copies.
func TestParseCostBoundsLiveMemory(t *testing.T) {
	c := newClock(context.Background())
	for _, tc := range []struct {
		name   string
		format resultmaterialize.Format
		doc    string
	}{
		{"JSON numbers", resultmaterialize.SyntaxJSON, `{"a": [` + strings.Repeat("1,", 100000) + `1]}`},
		{"JSON one-key objects", resultmaterialize.SyntaxJSON, `{"a":[` + strings.Repeat(`{"k":0},`, 50000) + `{"k":0}]}`},
		{"JSON nine-key objects", resultmaterialize.SyntaxJSON, `{"a":[` + strings.Repeat(`{"k":0,"l":1,"m":2,"n":3,"o":4,"p":5,"q":6,"r":7,"s":8},`, 20000) + `{}]}`},
		{"JSON strings", resultmaterialize.SyntaxJSON, `{"a":[` + strings.Repeat(`"abcdefghijklmnopqrstuvwxyz",`, 40000) + `""]}`},
		{"YAML one-key maps", resultmaterialize.SyntaxYAML, "a:\n" + strings.Repeat("- k: 0\n", 20000)},
		{"YAML numbers", resultmaterialize.SyntaxYAML, "a: [" + strings.Repeat("0,", 50000) + "0]\n"},
		{"YAML aliases of maps", resultmaterialize.SyntaxYAML, "a: &a [" + strings.Repeat("{k: 0},", 1000) + "0]\nb: [" + strings.Repeat("*a,", 100) + "*a]\n"},
		{"YAML aliases of a map", resultmaterialize.SyntaxYAML, "a: &a {k: 0}\nb: [" + strings.Repeat("*a,", 10000) + "*a]\n"},
	} {
		raw := []byte(tc.doc)
		var cost int64
		held := live(func() any {
			if tc.format == resultmaterialize.SyntaxJSON {
				doc, err := parseJSON(c, raw)
				if err != nil {
					t.Fatal(err)
				}
				cost = parseCost(tc.format, raw, 0)
				return doc
			}
			node, err := parseYAML(c, raw)
			if err != nil {
				t.Fatal(err)
			}
			built, err := expansion(node)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := decodeYAML(node)
			if err != nil {
				t.Fatal(err)
			}
			cost = parseCost(tc.format, raw, built)
			return []any{node, doc}
		})
		if held > cost {
			t.Errorf("%s: %d bytes parsed hold %d bytes, above the estimate of %d", tc.name, len(raw), held, cost)
		}
	}
}

func TestExpansionCountsEachAliasCopy(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(aliasBomb), &doc); err != nil {
		t.Fatal(err)
	}
	// The document, the top map, three keys, p (4,001 nodes), a (301)
	// and b, which holds 1,000 copies of a.
	if got, want := mustExpand(t, &doc), int64(1+1+3+4001+301+1+1000*301); got != want {
		t.Errorf("expansion = %d, want %d", got, want)
	}
}

func mustExpand(t *testing.T, doc *yaml.Node) int64 {
	t.Helper()
	n, err := expansion(doc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMemoryEstimateBoundsReports: what Reports allocates, garbage
// included, stays within MemoryEstimate, for the groups the controller
// projects from ConfigMaps.
func TestMemoryEstimateBoundsReports(t *testing.T) {
	objects := `{"a":[` + strings.Repeat(`{"k":0},`, 30000) + `{"k":0}]}`
	for _, tc := range []struct {
		name, doc string
		specs     []protocol.Projection
	}{
		{"a wildcard over objects", objects, []protocol.Projection{{JSONPath: "{.a[*].k}"}}},
		{"a streamed path and an expression", objects, []protocol.Projection{{JSONPath: "{.a[3].k}"}, {Expression: "size(doc.a) > 0"}}},
		{"YAML with anchors", "base: &b {x: 1}\nitems:\n" + strings.Repeat("- *b\n", 5000), []protocol.Projection{{JSONPath: "{.items[*].x}", Format: resultmaterialize.SyntaxYAML}}},
		{"a small document", `{"a": {"b": 1}}`, []protocol.Projection{{JSONPath: "{.a.b}"}}},
	} {
		reqs := make([]protocol.FileRequest, len(tc.specs))
		for i := range tc.specs {
			tc.specs[i].MaxBytes = 4 << 20
			reqs[i] = protocol.FileRequest{Path: "f", Projection: &tc.specs[i]}
		}
		content := []byte(tc.doc)
		estimate := MemoryEstimate(content, reqs)
		var reports []protocol.FileReport
		took := allocated(func() {
			var err error
			reports, err = Reports(context.Background(), bytes.NewReader(content), int64(len(content)), reqs)
			if err != nil {
				t.Fatal(err)
			}
		})
		for i, rep := range reports {
			if rep.Error != nil {
				t.Errorf("%s: result %d failed: %+v", tc.name, i, rep.Error)
			}
		}
		if took > uint64(estimate) {
			t.Errorf("%s: Reports allocated %d bytes, above MemoryEstimate's %d", tc.name, took, estimate)
		}
	}
}

// TestMemoryEstimateOfWhatIsRefused: a document refused before it is
// parsed counts no parse, and a YAML document with aliases counts the
// most a parse may take.
func TestMemoryEstimateOfWhatIsRefused(t *testing.T) {
	limit := int64(1 << 20)
	est := func(doc string, p protocol.Projection) int64 {
		p.MaxBytes = limit
		return MemoryEstimate([]byte(doc), []protocol.FileRequest{{Path: "f", Projection: &p}})
	}
	outputs := outputMemory * limit
	if got := est(aliasBomb, protocol.Projection{JSONPath: "{.a[0]}", Format: resultmaterialize.SyntaxYAML}); got != 2*int64(len(aliasBomb))+memoryFactor*limit+outputs {
		t.Errorf("an alias bomb is estimated at %d; want the most a parse may take", got)
	}
	big := strings.Repeat(" ", int(limit)+1)
	if got := est(big, protocol.Projection{Expression: "doc"}); got != outputs {
		t.Errorf("a document above the limit is estimated at %d; want %d, what the outputs may take", got, outputs)
	}
}

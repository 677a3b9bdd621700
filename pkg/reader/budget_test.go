package reader

import (
	"bytes"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

func text(name, path string, threshold int64) materialize.Result {
	return materialize.Result{Name: name, Path: path, Threshold: threshold, OnOversize: resultmaterialize.PolicyReference,
		Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString}
}

// stream runs the reader over plan and parses what it printed as the
// controller does.
func stream(t *testing.T, root *os.Root, plan materialize.Plan) ([]protocol.FileReport, int) {
	t.Helper()
	var out bytes.Buffer
	must(t, Stream(root, plan, &out, nil))
	reports, err := protocol.Parse(out.Bytes(), plan.Requests(), plan.MaxInlineTotal)
	must(t, err)
	return reports, out.Len()
}

// TestStreamPrintsOnlyWhatTheRunKeeps is the case the kubelet's log
// rotation cut: 64 results of 1,000,000 bytes at a 1Mi threshold, under
// the default 128Ki budget. Whether each value fits its threshold and
// not the budget (plain text), or fits as a file but not as stored JSON
// (escaped newlines, base64), the run keeps none inline, so the reader
// prints no head at all and every result ends by reference; a few small
// results beside them keep their heads.
func TestStreamPrintsOnlyWhatTheRunKeeps(t *testing.T) {
	for name, tc := range map[string]struct {
		content  []byte
		encoding resultmaterialize.Encoding
		stored   int64
	}{
		"within the threshold": {bytes.Repeat([]byte("x"), 1_000_000), resultmaterialize.EncodingText, 1_000_000},
		"escaped over it":      {bytes.Repeat([]byte("abcdefghijklmnopqrs\n"), 50_000), resultmaterialize.EncodingText, 1_050_000},
		"base64 over it":       {bytes.Repeat([]byte{0xff}, 1_000_000), resultmaterialize.EncodingBase64, 1_333_336},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "big"), tc.content, 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "small"), []byte("small value"), 0o644))
			root, err := os.OpenRoot(dir)
			must(t, err)
			defer root.Close()
			plan := materialize.Plan{MaxInlineTotal: 128 << 10}
			for i := range 64 {
				res := text(fmt.Sprintf("r%02d", i), "big", 1<<20)
				if i%16 == 0 {
					res.Path = "small"
				} else {
					res.Encoding = tc.encoding
				}
				plan.Results = append(plan.Results, res)
			}
			reports, printed := stream(t, root, plan)
			if limit := protocol.MaxOutputBytes(plan.Requests(), plan.MaxInlineTotal); int64(printed) > limit || printed > 100<<10 {
				t.Errorf("the reader printed %d bytes; want at most its bound %d and far below the 1 MB values it read", printed, limit)
			}
			got, err := materialize.Materialize(plan, reports)
			must(t, err)
			for i, row := range got.Rows {
				small := i%16 == 0
				if row.Inline != small || (small && reports[i].Withheld) || (!small && (!reports[i].Withheld || reports[i].Stored != tc.stored)) {
					t.Errorf("result %s: inline %v, withheld %v, stored %d; want the small ones inline and the others withheld at %d", row.Name, row.Inline, reports[i].Withheld, reports[i].Stored, tc.stored)
				}
			}
		})
	}
}

// TestStreamFailureSendsOnlyItsHead checks that once a result fails the
// run, the reader sends that result's head alone, and the controller
// reaches the same failure from it.
func TestStreamFailureSendsOnlyItsHead(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "ok"), []byte("fine"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "bad"), []byte("ok\xff"), 0o644))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	plan := materialize.Plan{MaxInlineTotal: 1 << 20, Results: []materialize.Result{
		text("a", "ok", 100), text("b", "bad", 100), text("c", "ok", 100), text("d", "bad", 100),
	}}
	reports, _ := stream(t, root, plan)
	var heads []string
	for _, r := range reports {
		heads = append(heads, string(r.Head))
	}
	if d := cmp.Diff([]string{"", "ok\xff", "", ""}, heads); d != "" {
		t.Errorf("heads (-want +got):\n%s", d)
	}
	_, err = materialize.Materialize(plan, reports)
	if o := outcome.As(err); o == nil || !strings.Contains(o.Message, `result "b"`) {
		t.Errorf("Materialize = %v, want result b's failure", err)
	}
}

// TestStreamAgreesWithTheEngine feeds random workspaces and plans to the
// reader and to the engine with every head (as the ConfigMap source
// reads): the outcome, or the failure, must be the same, and the output
// within its bound.
func TestStreamAgreesWithTheEngine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	contents := []string{"", "a", "yes\n", `["x","y"]`, "[\n  \"x\",\n  \"y\"\n]\n", "a\nb\n", "\x01\x02\x03\"\"", "ok\xff",
		strings.Repeat("é", 300), strings.Repeat("z", 900), strings.Repeat("\x1f", 400),
		strings.Repeat("line of text\n", 400), strings.Repeat("\"<&>", 1500), "[" + strings.Repeat(`   "item" ,`, 500) + `"last"]`,
		strings.Repeat("x", 6000)}
	for i, c := range contents {
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), []byte(c), 0o644))
	}
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	policies := []resultmaterialize.Policy{resultmaterialize.PolicyReference, resultmaterialize.PolicyReference, resultmaterialize.PolicyTruncate, resultmaterialize.PolicyFail}
	for n := range 500 {
		plan := materialize.Plan{MaxInlineTotal: int64(rng.IntN(3000))}
		for i := range 1 + rng.IntN(12) {
			res := text(fmt.Sprintf("r%02d", i), fmt.Sprintf("f%d", rng.IntN(len(contents)+1)), int64(1+rng.IntN(8000)))
			res.OnOversize = policies[rng.IntN(len(policies))]
			res.Optional = rng.IntN(4) == 0
			if res.Optional {
				res.Default = strings.Repeat("d", rng.IntN(50))
			}
			switch rng.IntN(6) {
			case 0:
				res.Encoding = resultmaterialize.EncodingBase64
			case 1:
				res.Type, res.Format = resultmaterialize.TypeArray, resultmaterialize.LayoutJSON
			case 2:
				res.Type, res.Format = resultmaterialize.TypeArray, resultmaterialize.LayoutLines
			case 3:
				res.TrimNewline = true
			}
			plan.Results = append(plan.Results, res)
		}
		full := make([]protocol.FileReport, len(plan.Results))
		buf := make([]byte, bufferSize)
		for i, req := range plan.Requests() {
			full[i] = Read(root, req, buf)
		}
		want, wantErr := materialize.Materialize(plan, full)
		reports, printed := stream(t, root, plan)
		got, gotErr := materialize.Materialize(plan, reports)
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !cmp.Equal(want, got) {
			t.Fatalf("case %d: plan %+v\nwith every head: %+v, %v\nfrom the reader: %+v, %v", n, plan, want, wantErr, got, gotErr)
		}
		if limit := protocol.MaxOutputBytes(plan.Requests(), plan.MaxInlineTotal); int64(printed) > limit {
			t.Fatalf("case %d: printed %d bytes, above the bound %d", n, printed, limit)
		}
	}
}

// TestStreamSendsArraysCompact checks that a JSON array file padded with
// whitespace crosses the wire as its compact value: 64 such files of
// 900 kB, each one short item, are all kept inline and printed small.
func TestStreamSendsArraysCompact(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "list"), []byte("["+strings.Repeat(" ", 900_000)+`"a"]`), 0o644))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	plan := materialize.Plan{MaxInlineTotal: 128 << 10}
	for i := range 64 {
		res := text(fmt.Sprintf("r%02d", i), "list", 1<<20)
		res.Type, res.Format = resultmaterialize.TypeArray, resultmaterialize.LayoutJSON
		plan.Results = append(plan.Results, res)
	}
	reports, printed := stream(t, root, plan)
	if printed > 100<<10 {
		t.Errorf("the reader printed %d bytes for 64 one-item arrays", printed)
	}
	got, err := materialize.Materialize(plan, reports)
	must(t, err)
	if v := got.Values[0]; v.Value != `["a"]` || !got.Rows[63].Inline || got.Rows[63].Size != 900_005 {
		t.Errorf("r00 = %q, r63 %+v; want [\"a\"] inline with the file's size", v.Value, got.Rows[63])
	}
}

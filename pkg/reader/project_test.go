package reader

import (
	"bytes"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// TestStreamProjections checks that projections of one file are answered
// in request order among plain reads, with the projected value's size and
// digest and the file's in Source, and that hostile paths are refused as
// for any read, without blocking.
func TestStreamProjections(t *testing.T) {
	root := workspace(t)
	doc := `{"accuracy": 0.93, "shards": [{"name": "a"}, {"name": "b"}]}`
	must(t, os.WriteFile(filepath.Join(root.Name(), "metrics.json"), []byte(doc), 0o644))
	plan := materialize.Plan{MaxInlineTotal: 1 << 20, MaxProjectionBytes: 1 << 20}
	proj := func(path, jsonPath string, array bool) {
		res := text(fmt.Sprintf("r%d", len(plan.Results)), path, 64)
		res.JSONPath, res.Optional = jsonPath, true
		if array {
			res.Type = resultmaterialize.TypeArray
		}
		plan.Results = append(plan.Results, res)
	}
	proj("metrics.json", "{.accuracy}", false)
	plan.Results = append(plan.Results, text("plain", "small", 10))
	proj("metrics.json", "{.shards[*].name}", true)
	proj("metrics.json", "{.missing}", false)
	proj("small", "{.a}", false)
	proj("missing.json", "{.a}", false)
	proj("link-relative-escape", "{.a}", false)
	proj("fifo", "{.a}", false)
	reqs := plan.Requests()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Stream(root, plan, &out, nil) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Stream blocked")
	}
	reports, err := protocol.Parse(out.Bytes(), reqs, plan.MaxInlineTotal)
	must(t, err)
	source := &protocol.Source{Size: int64(len(doc)), SHA256: digest(doc)}
	// The projection of "small", not a JSON document, fails the run, so
	// the reader withholds every other head, with what each value would
	// have taken of the budget.
	for i, want := range []struct {
		stored int64
		reason reasons.Reason
		text   string
		found  bool
	}{
		{stored: 4, found: true},
		{stored: 5, found: true},
		{stored: 13, found: true},
		{reason: reasons.ProjectionNoMatch, text: "matches nothing", found: true},
		{reason: reasons.ProjectionInvalidDocument, text: "byte offset 0", found: true},
		{},
		{reason: reasons.ResultUnreadable, text: "escapes the workspace", found: true},
		{reason: reasons.ResultUnreadable, text: "is a FIFO", found: true},
	} {
		got := reports[i]
		if got.Found != want.found || len(got.Head) > 0 || got.Withheld != (want.stored > 0) || got.Stored != want.stored {
			t.Errorf("report %d (%s) = found %v head %q withheld %v stored %d; want %v, no head, stored %d", i, reqs[i].Path, got.Found, got.Head, got.Withheld, got.Stored, want.found, want.stored)
		}
		if want.reason != "" && (got.Error == nil || got.Error.Reason != want.reason || !strings.Contains(got.Error.Message, want.text)) {
			t.Errorf("report %d (%s) error = %+v, want %s containing %q", i, reqs[i].Path, got.Error, want.reason, want.text)
		}
		if want.reason == "" && got.Error != nil {
			t.Errorf("report %d (%s) error = %+v", i, reqs[i].Path, got.Error)
		}
		if strings.Contains(string(got.Head), "outside") {
			t.Errorf("report %d leaked content from outside the workspace", i)
		}
	}
	for _, i := range []int{0, 2, 3} {
		if got := reports[i].Source; got == nil || *got != *source {
			t.Errorf("report %d source = %+v, want %+v", i, got, source)
		}
	}
	if reports[0].Size != 4 || reports[0].SHA256 != digest("0.93") {
		t.Errorf("projected value size %d sha256 %s, want 4 and %s", reports[0].Size, reports[0].SHA256, digest("0.93"))
	}
}

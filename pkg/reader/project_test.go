package reader

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	proj := func(path, jsonPath string, array bool) protocol.FileRequest {
		return protocol.FileRequest{Path: path, Limit: 64, Projection: &protocol.Projection{JSONPath: jsonPath, Array: array, MaxBytes: 1 << 20}}
	}
	reqs := []protocol.FileRequest{
		proj("metrics.json", "{.accuracy}", false),
		{Path: "small", Limit: 10},
		proj("metrics.json", "{.shards[*].name}", true),
		proj("metrics.json", "{.missing}", false),
		proj("small", "{.a}", false),
		proj("missing.json", "{.a}", false),
		proj("link-relative-escape", "{.a}", false),
		proj("fifo", "{.a}", false),
	}
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- Stream(root, reqs, &out) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Stream blocked")
	}
	reports, err := protocol.Parse(out.Bytes(), reqs)
	must(t, err)
	source := &protocol.Source{Size: int64(len(doc)), SHA256: digest(doc)}
	for i, want := range []struct {
		head   string
		reason reasons.Reason
		text   string
		found  bool
	}{
		{head: "0.93", found: true},
		{head: "hello", found: true},
		{head: `["a","b"]`, found: true},
		{reason: reasons.ProjectionNoMatch, text: "matches nothing", found: true},
		{reason: reasons.ProjectionInvalidDocument, text: "byte offset 0", found: true},
		{},
		{reason: reasons.ResultUnreadable, text: "escapes the workspace", found: true},
		{reason: reasons.ResultUnreadable, text: "is a FIFO", found: true},
	} {
		got := reports[i]
		if got.Found != want.found || string(got.Head) != want.head {
			t.Errorf("report %d (%s) = found %v head %q; want %v %q", i, reqs[i].Path, got.Found, got.Head, want.found, want.head)
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

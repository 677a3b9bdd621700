package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

func TestWriterParseRoundTrip(t *testing.T) {
	reqs := []FileRequest{{Path: "a", Limit: 4}, {Path: "b", Limit: 4}, {Path: "c", Limit: 4, KeepOversizeHead: true}, {Path: "d", Limit: 4}}
	reports := []FileReport{
		{Path: "a", Found: true, Size: 3, SHA256: "x", Head: []byte("abc")},
		{Path: "b", Found: true, Size: 9, SHA256: "y"},
		{Path: "c", Found: true, Size: 9, SHA256: "z", Head: []byte("<<<<")},
		{Path: "d", Found: true, Error: &FileError{Reason: reasons.ResultUnreadable, Message: "a directory"}},
	}
	var out bytes.Buffer
	w := NewWriter(&out)
	for _, r := range reports {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(out.Bytes(), reqs, 1<<10)
	if err != nil {
		t.Fatalf("Parse(%s): %v", out.String(), err)
	}
	if d := cmp.Diff(reports, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestEmptyDocument(t *testing.T) {
	var out bytes.Buffer
	if err := NewWriter(&out).Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := Parse(out.Bytes(), nil, 0); err != nil || len(got) != 0 {
		t.Errorf("Parse(%q) = %v, %v; want no files", out.String(), got, err)
	}
}

func TestParseRefuses(t *testing.T) {
	reqs := []FileRequest{{Path: "a", Limit: 4}}
	for name, tc := range map[string]struct{ raw, want string }{
		"short head":    {`{"files":[{"path":"a","found":true,"size":3,"head":"YWI="}]}`, `has 2 head bytes for a size of 3 and a limit of 4: want 3`},
		"oversize head": {`{"files":[{"path":"a","found":true,"size":9,"head":"YWI="}]}`, `want 0`},
		"wrong path":    {`{"files":[{"path":"b"}]}`, `report for "b" answers a request for "a"`},
		"unknown field": {`{"files":[{"path":"a","extra":1}]}`, `unknown field "extra"`},
		"two documents": {`{"files":[{"path":"a"}]}{}`, `data after the reader document`},
		"too many":      {`{"files":[{"path":"a"},{"path":"a"}]}`, `2 files for 1 requested`},
		"over the cap":  {`{"files":[` + strings.Repeat(" ", 2000) + `]}`, `output is over`},
		"negative size": {`{"files":[{"path":"a","found":true,"size":-1}]}`, `size of -1`},
		"withheld head": {`{"files":[{"path":"a","found":true,"size":3,"head":"YWI=","withheld":true,"stored":3}]}`, `withholds its head but`},
		"withheld size": {`{"files":[{"path":"a","found":true,"size":3,"withheld":true}]}`, `withholds its head but`},
		"withheld miss": {`{"files":[{"path":"a","withheld":true,"stored":3}]}`, `withholds its head but`},
		"rotated":       {`"a","found":true,"size":3}]}`, `does not begin with the reader's document`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.raw), reqs, 16); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseTellsACutLog(t *testing.T) {
	reqs := []FileRequest{{Path: "a", Limit: 4}}
	for _, raw := range []string{`les":[]}`, "\n", `{"files":[{"path":"a"`} {
		_, err := Parse([]byte(raw), reqs, 16)
		if cut := errors.Is(err, ErrCut); cut != !strings.HasPrefix(DocumentStart, raw[:min(len(raw), len(DocumentStart))]) {
			t.Errorf("Parse(%q) = %v: cut %v", raw, err, cut)
		}
	}
}

// TestWithheldRoundTrip checks a withheld report crosses the wire whole.
func TestWithheldRoundTrip(t *testing.T) {
	reqs := []FileRequest{{Path: "a", Limit: 4}}
	want := []FileReport{{Path: "a", Found: true, Size: 3, SHA256: "x", Withheld: true, Stored: 3}}
	var out bytes.Buffer
	w := NewWriter(&out)
	if err := w.Write(want[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(out.Bytes(), reqs, 0)
	if err != nil || cmp.Diff(want, got) != "" {
		t.Errorf("Parse = %+v, %v; want %+v", got, err, want)
	}
}

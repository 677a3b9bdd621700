package rmat

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var out, line bytes.Buffer
	w, done := Progress(&out, &line, "t.model", 4<<20)
	chunk := bytes.Repeat([]byte{1}, 1<<20)
	for range 4 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	done()
	if out.Len() != 4<<20 {
		t.Errorf("%d bytes went through, want 4 MiB", out.Len())
	}
	if got := line.String(); !strings.HasSuffix(got, "\rt.model: 4.0 MiB of 4.0 MiB (100%)\n") {
		t.Errorf("progress line %q, want it to end at 100%% and a newline", got)
	}
}

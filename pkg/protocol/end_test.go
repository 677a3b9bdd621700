package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestEnded(t *testing.T) {
	var full bytes.Buffer
	w := NewWriter(&full)
	for _, rep := range []FileReport{
		{Path: "a", Found: true, Size: 2, Head: []byte("]}")},
		{Path: "b]}\n]}", Found: true, Error: &FileError{Reason: "ResultUnreadable", Message: "\n]}\n"}},
	} {
		if err := w.Write(rep); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var empty bytes.Buffer
	if err := NewWriter(&empty).Close(); err != nil {
		t.Fatal(err)
	}
	doc := full.String()
	for name, c := range map[string]struct {
		log  string
		want bool
	}{
		"whole document":                    {doc, true},
		"whole document, more after it":     {doc + "extra", true},
		"empty document":                    {empty.String(), true},
		"nothing yet":                       {"", false},
		"all but the last newline":          {strings.TrimSuffix(doc, "\n"), false},
		"the first report only":             {doc[:strings.Index(doc, "\n")+1], false},
		"a report line that mentions ]}":    {DocumentStart + `{"path":"]}"}` + "\n", false},
		"the empty document cut":            {DocumentStart + "]", false},
		"the empty document's end mid-line": {"x" + DocumentStart + "]}\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Ended(iotest.OneByteReader(strings.NewReader(c.log)))
			if err != nil || got != c.want {
				t.Errorf("Ended(%q) = %v, %v; want %v", c.log, got, err, c.want)
			}
		})
	}
	if _, err := Ended(iotest.ErrReader(errors.New("stream reset"))); err == nil {
		t.Error("a failed stream must say so")
	}
}

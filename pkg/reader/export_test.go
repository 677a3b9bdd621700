package reader

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// pushes records what an Exporter was asked to push, with the bytes it
// read through the opener.
type pushes map[string]string

func (p pushes) exporter(fail map[string]*protocol.FileError) Exporter {
	return func(name, _ string, _ int64, _ string, open func() (io.ReadCloser, error)) (string, *protocol.FileError) {
		rc, err := open()
		if err != nil {
			return "", &protocol.FileError{Reason: reasons.ExportUnavailable, Message: err.Error()}
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		p[name] = string(b)
		if f := fail[name]; f != nil {
			return "", f
		}
		return "sha256:" + strings.Repeat("a", 64), nil
	}
}

// TestStreamExportsWhatEndsByReference: under retain: oci the reader
// pushes the files the engine keeps by reference, over their threshold or
// demoted to keep the run within its budget (counting a default it does
// not carry), and nothing kept inline, nothing under retain: workspace;
// the controller's engine accepts the document and publishes the URIs.
func TestStreamExportsWhatEndsByReference(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"flag": 4, "big": 5000, "mid": 900, "kept": 6000} {
		must(t, os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("x"), size), 0o644))
	}
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	oci := func(name string, threshold int64) materialize.Result {
		r := text(name, name, threshold)
		r.Retain = resultmaterialize.RetainOCI
		return r
	}
	missing := oci("missing", 4096)
	missing.Optional, missing.Default = true, strings.Repeat("d", 200)
	plan := materialize.Plan{MaxInlineTotal: 1000, Export: &protocol.ExportTarget{Repository: "registry.example/results"},
		Results: []materialize.Result{oci("flag", 4096), oci("big", 4096), oci("mid", 4096), text("kept", "kept", 4096), missing}}
	controllerPlan := plan
	request, err := plan.ReaderRequest()
	must(t, err)
	readerPlan, err := materialize.DecodeReaderRequest(request)
	must(t, err)

	got := pushes{}
	var out bytes.Buffer
	must(t, Stream(root, readerPlan, &out, got.exporter(nil)))
	if len(got) != 2 || len(got["big"]) != 5000 || len(got["mid"]) != 900 {
		t.Fatalf("pushed %d files %v; want big (over its threshold) and mid (demoted by the 200-byte default)", len(got), keys(got))
	}
	reports, err := protocol.Parse(out.Bytes(), controllerPlan.Requests(), controllerPlan.MaxInlineTotal)
	must(t, err)
	res, err := materialize.Materialize(controllerPlan, reports)
	must(t, err)
	values := map[string]string{}
	for _, v := range res.Values {
		values[v.Name] = v.Value
	}
	want := "oci://registry.example/results@sha256:" + strings.Repeat("a", 64)
	if values["big-uri"] != want || values["mid-uri"] != want || values["flag-uri"] != "" {
		t.Errorf("uris big %q, mid %q, flag %q; want big and mid exported, flag inline", values["big-uri"], values["mid-uri"], values["flag-uri"])
	}
	if _, ok := values["kept-uri"]; ok {
		t.Errorf("a result under retain: workspace yields -uri")
	}
}

// TestStreamExportFailureEndsTheRun: a registry refusal is in the
// document and fails the run with its reason; one that may pass fails
// the attempt.
func TestStreamExportFailureEndsTheRun(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("x"), 5000), 0o644))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	r := text("big", "big", 100)
	r.Retain = resultmaterialize.RetainOCI
	plan := materialize.Plan{MaxInlineTotal: 1000, Export: &protocol.ExportTarget{Repository: "registry.example/results"}, Results: []materialize.Result{r}}
	for _, reason := range []reasons.Reason{reasons.ExportRefused, reasons.ExportUnavailable} {
		var out bytes.Buffer
		must(t, Stream(root, plan, &out, pushes{}.exporter(map[string]*protocol.FileError{"big": {Reason: reason, Message: "exporting to registry.example/results: no"}})))
		reports, err := protocol.Parse(out.Bytes(), plan.Requests(), plan.MaxInlineTotal)
		must(t, err)
		_, err = materialize.Materialize(plan, reports)
		if err == nil || !strings.Contains(err.Error(), string(reason)) {
			t.Errorf("a %s export: Materialize = %v, want the run to end with it", reason, err)
		}
	}
}

func keys(m pushes) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestStreamExportsNothingForARunThatFails: a string result whose value
// Tekton would read as an array fails the run, so the large file beside
// it is not pushed.
func TestStreamExportsNothingForARunThatFails(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("x"), 5000), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "list"), []byte(`["x"]`), 0o644))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	big := text("big", "big", 100)
	big.Retain = resultmaterialize.RetainOCI
	plan := materialize.Plan{MaxInlineTotal: 1000, Export: &protocol.ExportTarget{Repository: "registry.example/results"},
		Results: []materialize.Result{big, text("list", "list", 100)}}
	got := pushes{}
	var out bytes.Buffer
	must(t, Stream(root, plan, &out, got.exporter(nil)))
	if len(got) != 0 {
		t.Errorf("pushed %v for a run that fails with ResultReadAsArray", keys(got))
	}
}

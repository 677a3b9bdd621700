package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"text/template"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

// render fills testdata/file, a text/template, with data; a placeholder
// the data lacks fails the test.
func render(t *testing.T, file string, data any) string {
	t.Helper()
	tmpl, err := template.New(file).Option("missingkey=error").ParseFiles(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		t.Fatalf("rendering %s: %v", file, err)
	}
	return out.String()
}

// TestTestdataDecodesStrictly renders every PipelineRun the e2e suite
// runs and decodes it strictly, without a cluster, so a typo in a field
// fails here and not minutes into an e2e run.
func TestTestdataDecodesStrictly(t *testing.T) {
	data := map[string]any{
		"pipeline.yaml":     struct{ Name, Approved, OnOversize string }{"approved", "true", "reference"},
		"object-store.yaml": struct{ Name, StorageClass string }{"s3fs", "csi-s3-s3fs"},
		"retain.yaml": struct {
			Name, Seed string
			BigBytes   int
		}{"retain", "seed", 1 << 20},
		"sizes.yaml": struct{ Name string }{"sizes"},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := data[name]; ok || bytes.Contains(raw, []byte("{{")) {
			raw = []byte(render(t, name, d))
		}
		var pr v1.PipelineRun
		if err := yaml.UnmarshalStrict(raw, &pr); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if pr.Name == "" || pr.Spec.PipelineSpec == nil {
			t.Errorf("%s: not a PipelineRun with a name and an embedded pipeline", name)
		}
	}
}

package rmat

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// cp writes each result to TASK/RESULT with a manifest of what it wrote
// and whether it checked; a changed file is written, listed as not
// verified, and ends the copy with ErrMismatch; --task filters.
func TestCopyAll(t *testing.T) {
	configMap := v1beta1.WorkspaceBinding{Name: "data", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "outputs"}}}
	run := materializeRun(t, "train-config", "config", configMap, corev1.ConditionTrue,
		resultmaterialize.Row{Name: "flag", Path: "flag", Size: 5, SHA256: digest("true\n"), Inline: true, Reason: resultmaterialize.Inline},
		resultmaterialize.Row{Name: "report", Path: "report", Size: 6, SHA256: digest("report"), Reason: resultmaterialize.Reference},
		resultmaterialize.Row{Name: "tag", Path: "tag", Inline: true, Reason: resultmaterialize.Defaulted})
	run.Status.Results = []v1beta1.CustomRunResult{{Name: "flag", Value: "true"}, {Name: "report-path", Value: "report"}, {Name: "tag", Value: "none"}}
	other := materializeRun(t, "train-other", "other", configMap, corev1.ConditionTrue,
		resultmaterialize.Row{Name: "changed", Path: "changed", Size: 3, SHA256: digest("old"), Reason: resultmaterialize.Reference})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outputs"}, Data: map[string]string{"report": "report", "changed": "new"}}
	c := Clients{Kube: fake.NewClientset(cm), Tekton: tektonfake.NewSimpleClientset([]runtime.Object{run, other}...)}
	runs := []v1beta1.CustomRun{*run, *other}
	entries, err := List(context.Background(), c, runs)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	m, err := CopyAll(context.Background(), c, Fetch{}, runs, entries, dir, "config", "")
	if err != nil || len(m.Results) != 3 {
		t.Fatalf("CopyAll(config) = %+v, %v; want three results", m, err)
	}
	for file, want := range map[string]string{"config/flag": "true\n", "config/report": "report", "config/tag": "none"} {
		if got, err := os.ReadFile(filepath.Join(dir, file)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", file, got, err, want)
		}
	}
	var written Manifest
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil || json.Unmarshal(raw, &written) != nil {
		t.Fatalf("manifest: %s, %v", raw, err)
	}
	verified := map[string]bool{}
	for _, r := range written.Results {
		verified[r.File] = r.Verified
	}
	if !verified["config/flag"] || !verified["config/report"] || verified["config/tag"] {
		t.Errorf("manifest %s: want flag and report verified, the defaulted tag not", raw)
	}

	dir = t.TempDir()
	m, err = CopyAll(context.Background(), c, Fetch{}, runs, entries, dir, "", "changed")
	if !errors.Is(err, ErrMismatch) || len(m.Results) != 1 || m.Results[0].Verified {
		t.Errorf("CopyAll(changed) = %+v, %v; want it written, not verified, and ErrMismatch", m, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "other", "changed")); string(got) != "new" {
		t.Errorf("the changed file holds %q, want what the ConfigMap holds now", got)
	}
	if m.Results[0].SHA256 != digest("new") || m.Results[0].Size != 3 {
		t.Errorf("manifest entry %+v, want the size and digest of what was written", m.Results[0])
	}

	// Nothing matched: an error, and no manifest of an earlier copy left.
	if _, err := CopyAll(context.Background(), c, Fetch{}, runs, entries, dir, "nope", ""); err == nil || !strings.Contains(err.Error(), "no result") {
		t.Errorf("CopyAll(nope) = %v, want an error saying nothing matched", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the earlier manifest is still there after a copy that failed: %v", err)
	}
}

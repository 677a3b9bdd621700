package resultmaterialize

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reader"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const metricsJSON = `{"accuracy": 0.93, "loss": 0.05, "shards": [{"name": "s1"}, {"name": "s2"}], "notes": "` + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + `"}`

var projectionFiles = configMap("metrics", map[string]string{
	"metrics.json": metricsJSON,
	"plan.yaml":    "shards:\n  - a\n  - b\n",
	"broken.json":  `{"accuracy": 0.93,,}`,
})

const projectionSpec = `{"results":[
 {"name":"accuracy","path":"metrics.json","jsonPath":"{.accuracy}"},
 {"name":"passed","path":"metrics.json","expression":"doc.accuracy > 0.9 && doc.loss < 0.1"},
 {"name":"shards","path":"metrics.json","jsonPath":"{.shards[*].name}","type":"array"},
 {"name":"plan","path":"plan.yaml","format":"yaml","jsonPath":"{.shards}","type":"array"},
 {"name":"f1","path":"metrics.json","jsonPath":"{.f1}","optional":true,"default":"n/a"}]}`

func checkProjected(t *testing.T, got *v1beta1.CustomRun) {
	t.Helper()
	want := map[string]string{
		"accuracy": "0.93", "accuracy-size": "4", "accuracy-sha256": sum("0.93"), "accuracy-inline": "true", "accuracy-path": "metrics.json",
		"passed": "true", "shards": `["s1","s2"]`, "plan": `["a","b"]`, "f1": "n/a",
	}
	for k, v := range want {
		if results(got)[k] != v {
			t.Errorf("result %s = %q, want %q", k, results(got)[k], v)
		}
	}
	rows := extraFields(t, got).Results
	source := resultmaterialize.Source{Path: "metrics.json", Size: int64(len(metricsJSON)), SHA256: sum(metricsJSON)}
	if d := cmp.Diff(resultmaterialize.Row{Name: "accuracy", Path: "metrics.json", Size: 4, SHA256: sum("0.93"), Inline: true,
		Reason: resultmaterialize.Inline, Source: source}, rows[0]); d != "" {
		t.Errorf("extraFields row (-want +got):\n%s", d)
	}
	if rows[4].Reason != resultmaterialize.Defaulted || rows[4].Source.Path == "" {
		t.Errorf("optional projection with no match: row %+v, want Defaulted with its source", rows[4])
	}
}

func TestProjectionFromConfigMapWithoutAPod(t *testing.T) {
	run := newRun("proj", withConfigMapWorkspace("ws", "metrics"), withEmbedded(projectionSpec))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{projectionFiles}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	checkProjected(t, got)
	if names := podNames(t, e); len(names) != 0 {
		t.Errorf("pods %v: a ConfigMap projection needs none", names)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/proj"}})
}

func TestProjectionParamsForm(t *testing.T) {
	run := newRun("proj", withConfigMapWorkspace("ws", "metrics"),
		withParam("results", "accuracy=metrics.json#{.accuracy}", "passed=metrics.json#cel:doc.accuracy > 0.95"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{projectionFiles}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	if results(got)["accuracy"] != "0.93" || results(got)["passed"] != "false" {
		t.Errorf("results %v, want accuracy 0.93 and passed false", results(got))
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/proj"}})
}

// TestProjectionThroughTheReader runs the reader on a real directory with
// the request the controller put on the reader pod, and feeds its output
// back as the pod's log: the projection is computed in the pod.
func TestProjectionThroughTheReader(t *testing.T) {
	run := newRun("proj", withPVC(""), withEmbedded(projectionSpec), withStarted(epoch))
	cfg, err := config.FromConfigMap(materializeConfig(readerConfig))
	if err != nil {
		t.Fatal(err)
	}
	var spec v1alpha1.ResultMaterializeSpec
	if err := json.Unmarshal([]byte(projectionSpec), &spec); err != nil {
		t.Fatal(err)
	}
	spec.SetDefaults(context.Background())
	plan, err := planFor(spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := workspace.ReaderPod(run, run.Spec.Workspaces[0], plan, cfg, workspace.Placement{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pod.Spec.Containers[0].Resources.Limits.Memory().String(); got != "768Mi" {
		t.Errorf("a projecting reader's memory limit is %s, want 768Mi: 12 times max-projection-bytes", got)
	}
	pod.CreationTimestamp = metav1.NewTime(epoch.Add(-5 * time.Second))
	pod.Status.Phase = corev1.PodSucceeded
	dir := t.TempDir()
	for name, content := range projectionFiles.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	request := strings.TrimPrefix(pod.Spec.Containers[0].Args[1], "-request=")
	readerPlan, err := materialize.DecodeReaderRequest(request)
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var out bytes.Buffer
	if err := reader.Stream(root, readerPlan, &out, nil); err != nil {
		t.Fatal(err)
	}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig, rawLog(out.String()))
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	checkProjected(t, got)
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/proj"}})
}

func TestProjectionFails(t *testing.T) {
	cm := withConfigMapWorkspace("ws", "metrics")
	for _, tc := range []struct {
		name    string
		spec    string
		reason  reasons.Reason
		message string
	}{
		{"no match", `{"results":[{"name":"f1","path":"metrics.json","jsonPath":"{.f1}"}]}`,
			reasons.ProjectionNoMatch, `result "f1": file "metrics.json", jsonPath "{.f1}": matches nothing`},
		{"invalid JSON", `{"results":[{"name":"a","path":"broken.json","jsonPath":"{.accuracy}"}]}`,
			reasons.ProjectionInvalidDocument, `result "a": file "broken.json", jsonPath "{.accuracy}": is not valid JSON: invalid character ',' looking for beginning of object key string at byte offset 18`},
		{"syntax error before any read", `{"results":[{"name":"a","path":"metrics.json","jsonPath":"{.a[x]}"}]}`,
			reasons.InvalidSpec, `invalid value: {.a[x]}: results[0].jsonPath`},
		{"CEL runtime error", `{"results":[{"name":"a","path":"metrics.json","expression":"doc.accuracy / 0"}]}`,
			reasons.ProjectionEvalFailed, `result "a": file "metrics.json", expression "doc.accuracy / 0": failed: no such overload`},
		{"projected value over the threshold", `{"threshold":"50","results":[{"name":"notes","path":"metrics.json","jsonPath":"{.notes}"}]}`,
			reasons.ResultOversize, `result "notes": the jsonPath "{.notes}" of file "metrics.json" gives 100 bytes, above its threshold of 50 bytes (onOversize: reference); a projected value has no file of its own to reference`},
		{"projection never demoted", `{"threshold":"1Mi","results":[{"name":"notes","path":"metrics.json","jsonPath":"{.notes}"}]}`,
			reasons.InlineBudgetExceeded, `result "notes" (100 bytes), the largest left, is a projection, with no file of its own to reference`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := newRun("r", cm, withEmbedded(tc.spec))
			cfg := map[string]string{"max-inline-total": "64"}
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{projectionFiles}}, nil, cfg)
			got, _ := e.reconcile(t, run.Name)
			c := condition(got)
			if c == nil || !got.IsDone() || c.Reason != string(tc.reason) || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("condition %+v, want %s containing %q", c, tc.reason, tc.message)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/r"}})
		})
	}
}

func TestProjectionTruncates(t *testing.T) {
	run := newRun("r", withConfigMapWorkspace("ws", "metrics"),
		withEmbedded(`{"threshold":"12","results":[{"name":"notes","path":"metrics.json","jsonPath":"{.notes}","onOversize":"truncate"}]}`))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{projectionFiles}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	if v := results(got)["notes"]; v != strings.Repeat("x", 12) {
		t.Errorf("truncated projection = %q, want the 12 bytes the threshold allows", v)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/r"}})
}

package rmat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	tektonfake "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const ns = "team"

func sha(c byte) string { return strings.Repeat(string(c), 64) }

// materializeRun is a ResultMaterialize run of pipeline task t in
// PipelineRun pr, bound to a claim or a ConfigMap, in state status with
// the rows of its per-result table.
func materializeRun(t *testing.T, name, task string, bind v1beta1.WorkspaceBinding, status corev1.ConditionStatus, rows ...resultmaterialize.Row) *v1beta1.CustomRun {
	t.Helper()
	run := &v1beta1.CustomRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"tekton.dev/pipelineRun": "train", "tekton.dev/pipelineTask": task}},
		Spec: v1beta1.CustomRunSpec{
			CustomRef:  &v1beta1.TaskRef{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: resultmaterialize.Kind},
			Workspaces: []v1beta1.WorkspaceBinding{bind},
		},
	}
	run.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: status})
	ef := v1alpha1.ExtraFields{ReadBy: "readerPod", Results: rows}
	if err := run.Status.EncodeExtraFields(&ef); err != nil {
		t.Fatal(err)
	}
	return run
}

// embedded makes the run's spec embedded, as a Pipeline task's taskSpec
// makes it, choosing the second of two bindings.
func embedded(t *testing.T, run *v1beta1.CustomRun) *v1beta1.CustomRun {
	t.Helper()
	raw, err := json.Marshal(v1alpha1.ResultMaterializeSpec{Workspace: "models"})
	if err != nil {
		t.Fatal(err)
	}
	run.Spec.CustomRef = nil
	run.Spec.CustomSpec = &v1beta1.EmbeddedCustomRunSpec{TypeMeta: runtime.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: resultmaterialize.Kind},
		Spec: runtime.RawExtension{Raw: raw}}
	models := claim("pvc-models", "")
	models.Name = "models"
	run.Spec.Workspaces = append(run.Spec.Workspaces, models)
	return run
}

func claim(name, subPath string) v1beta1.WorkspaceBinding {
	return v1beta1.WorkspaceBinding{Name: "data", SubPath: subPath, PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
}

// fixture is PipelineRun train: a task whose claim still exists with every
// way a result is surfaced, one whose claim Tekton deleted, one whose claim
// is being deleted, one with an embedded spec that reads the second of two
// claims, a ConfigMap task, a running one and a failed one; and a TaskRun-less CustomRun of
// another kind, which ls leaves out.
func fixture(t *testing.T) Clients {
	t.Helper()
	runs := []runtime.Object{
		materializeRun(t, "train-materialize", "materialize", claim("pvc-abc", "out"), corev1.ConditionTrue,
			resultmaterialize.Row{Name: "accuracy", Path: "metrics.json", Size: 4, SHA256: sha('a'), Inline: true, Reason: resultmaterialize.Inline,
				Source: resultmaterialize.Source{Path: "metrics.json", Size: 120, SHA256: sha('m')}},
			resultmaterialize.Row{Name: "model", Path: "model.bin", Size: 209715200, SHA256: sha('b'), Reason: resultmaterialize.Reference},
			resultmaterialize.Row{Name: "log", Path: "log.txt", Size: 8192, SHA256: sha('c'), Inline: true, Reason: resultmaterialize.Truncated},
			resultmaterialize.Row{Name: "tag", Path: "tag", Inline: true, Reason: resultmaterialize.Defaulted},
			resultmaterialize.Row{Name: "report", Path: "report.html", Size: 3000, SHA256: sha('e'), Reason: resultmaterialize.Demoted}),
		materializeRun(t, "train-export", "export", claim("pvc-gone", ""), corev1.ConditionTrue,
			resultmaterialize.Row{Name: "dataset", Path: "dataset.csv", Size: 5242880, SHA256: sha('f'), Reason: resultmaterialize.Reference},
			resultmaterialize.Row{Name: "archive", Path: "archive.tar", Size: 3 << 20, SHA256: sha('j'), Reason: resultmaterialize.Reference,
				URI: resultmaterialize.ArtifactURI("127.0.0.1:1/results", "sha256:"+sha('k'))}),
		materializeRun(t, "train-config", "config", v1beta1.WorkspaceBinding{Name: "data", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "outputs"}}},
			corev1.ConditionTrue, resultmaterialize.Row{Name: "flag", Path: "flag", Size: 4, SHA256: sha('g'), Inline: true, Reason: resultmaterialize.Inline}),
		materializeRun(t, "train-going", "going", claim("pvc-going", ""), corev1.ConditionTrue,
			resultmaterialize.Row{Name: "checkpoint", Path: "ckpt", Size: 1 << 30, SHA256: sha('h'), Reason: resultmaterialize.Reference}),
		embedded(t, materializeRun(t, "train-embedded", "embedded", claim("pvc-other", ""), corev1.ConditionTrue,
			resultmaterialize.Row{Name: "weights", Path: "w.bin", Size: 10 << 20, SHA256: sha('i'), Reason: resultmaterialize.Reference})),
		materializeRun(t, "train-later", "later", claim("pvc-abc", ""), corev1.ConditionUnknown),
		materializeRun(t, "train-broken", "broken", claim("pvc-abc", ""), corev1.ConditionFalse),
		&v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "train-wait", Labels: map[string]string{"tekton.dev/pipelineRun": "train"}},
			Spec: v1beta1.CustomRunSpec{CustomRef: &v1beta1.TaskRef{APIVersion: "custom.tekton.dev/v1alpha1", Kind: "Wait"}}},
		&pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "train"}},
	}
	kube := fake.NewClientset(
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pvc-abc"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pvc-models"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pvc-going", DeletionTimestamp: &metav1.Time{}, Finalizers: []string{"kubernetes.io/pvc-protection"}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outputs"}},
	)
	return Clients{Kube: kube, Tekton: tektonfake.NewSimpleClientset(runs...)}
}

// An API error other than NotFound or Forbidden ends ls: a table of
// guesses would hide it. Forbidden only makes the place unknown.
func TestLsExistsErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		exists string
	}{
		{apierrors.NewForbidden(corev1.Resource("persistentvolumeclaims"), "pvc-abc", errors.New("no")), "unknown"},
		{apierrors.NewInternalError(errors.New("etcd")), ""},
	} {
		c := fixture(t)
		c.Kube.(*fake.Clientset).PrependReactor("get", "persistentvolumeclaims", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, tc.err
		})
		runs, err := Runs(context.Background(), c, ns, "customrun/train-export")
		if err != nil {
			t.Fatal(err)
		}
		entries, err := List(context.Background(), c, runs)
		switch {
		case tc.exists == "" && (err == nil || !strings.Contains(err.Error(), `persistentvolumeclaim "pvc-gone"`)):
			t.Errorf("List with %v = %v, want the error naming the claim", tc.err, err)
		case tc.exists != "" && (err != nil || entries[0].Exists != tc.exists):
			t.Errorf("List with %v = %+v, %v; want exists %s", tc.err, entries, err, tc.exists)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestLs(t *testing.T) {
	c := fixture(t)
	for _, tc := range []struct{ name, arg, format string }{
		{"pipelinerun", "train", OutputTable},
		{"pipelinerun-wide", "pipelinerun/train", OutputWide},
		{"customrun-json", "customrun/train-export", OutputJSON},
		{"customrun-yaml", "customrun/train-config", OutputYAML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := Runs(context.Background(), c, ns, tc.arg)
			if err != nil {
				t.Fatal(err)
			}
			entries, err := List(context.Background(), c, runs)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Print(&out, entries, tc.format); err != nil {
				t.Fatal(err)
			}
			golden(t, "ls-"+tc.name, out.Bytes())
		})
	}
}

func TestLsErrorsNameTheObject(t *testing.T) {
	c := fixture(t)
	for arg, want := range map[string]string{
		"nope":                  `pipelinerun "nope" not found in namespace "team"`,
		"customrun/nope":        `customrun "nope" not found in namespace "team"`,
		"customrun/train-wait":  `customrun "train-wait" in namespace "team" is not a ResultMaterialize run`,
		"taskrun/train-produce": `"taskrun/train-produce": want NAME or pipelinerun/NAME (a PipelineRun), or customrun/NAME`,
	} {
		if _, err := Runs(context.Background(), c, ns, arg); err == nil || err.Error() != want {
			t.Errorf("Runs(%q) = %v, want %q", arg, err, want)
		}
	}
	if err := Print(&bytes.Buffer{}, nil, "name"); err == nil || !strings.Contains(err.Error(), `output format "name"`) {
		t.Errorf("Print with -o name = %v, want an error naming the format", err)
	}
}

// Completion offers the PipelineRuns and the ResultMaterialize runs only;
// an empty list prints as an empty list, not null.
func TestNamesAndEmptyList(t *testing.T) {
	names, err := Names(context.Background(), fixture(t), ns)
	if err != nil || !slices.Contains(names, "train") || !slices.Contains(names, "customrun/train-embedded") || slices.Contains(names, "customrun/train-wait") {
		t.Errorf("Names = %v, %v; want train and the ResultMaterialize runs, not train-wait", names, err)
	}
	var out bytes.Buffer
	if err := Print(&out, nil, OutputJSON); err != nil || out.String() != "{\n  \"items\": []\n}\n" {
		t.Errorf("Print(nil, json) = %q, %v; want an empty list", out.String(), err)
	}
}

func TestHuman(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 20: "5.0 MiB", 200 << 20: "200 MiB", 3 << 30: "3.0 GiB"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
}

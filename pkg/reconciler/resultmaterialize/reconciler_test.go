package resultmaterialize

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var (
	small = "yes"
	large = strings.Repeat("L", 5000)
	files = configMap("files", map[string]string{"flag": small, "blob": large, "sub.txt": "in dir"})
)

func object(name string, spec v1alpha1.ResultMaterializeSpec) *v1alpha1.ResultMaterialize {
	return &v1alpha1.ResultMaterialize{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

// wantSucceeded is what a run over "files" with flag and blob surfaces at
// the default 4096-byte threshold.
func wantSucceeded() map[string]string {
	return map[string]string{
		"flag": small, "flag-size": "3", "flag-sha256": sum(small), "flag-inline": "true", "flag-path": "flag",
		"blob": "blob", "blob-size": "5000", "blob-sha256": sum(large), "blob-inline": "false", "blob-path": "blob",
	}
}

func TestReconcileSucceeds(t *testing.T) {
	tests := []struct {
		name string
		run  *v1beta1.CustomRun
		objs []*v1alpha1.ResultMaterialize
		want map[string]string
	}{{
		name: "params only",
		run:  newRun("params", withConfigMapWorkspace("ws", "files"), withParam("results", "flag", "blob")),
		want: wantSucceeded(),
	}, {
		name: "named object",
		run:  newRun("named", withRef("reusable"), withConfigMapWorkspace("ws", "files")),
		objs: []*v1alpha1.ResultMaterialize{object("reusable", v1alpha1.ResultMaterializeSpec{
			Results: []v1alpha1.ResultSpec{{Name: "flag"}, {Name: "blob"}}})},
		want: wantSucceeded(),
	}, {
		name: "embedded spec",
		run:  newRun("embedded", withConfigMapWorkspace("ws", "files"), withEmbedded(`{"results":[{"name":"flag"},{"name":"blob"}]}`)),
		want: wantSucceeded(),
	}, {
		name: "params override the named object field by field",
		run: newRun("override", withRef("reusable"), withConfigMapWorkspace("ws", "files"),
			withParam("threshold", "4"), withParam("results", "flag=sub.txt")),
		objs: []*v1alpha1.ResultMaterialize{object("reusable", v1alpha1.ResultMaterializeSpec{
			OnOversize: resultmaterialize.PolicyTruncate,
			Results:    []v1alpha1.ResultSpec{{Name: "flag", Encoding: resultmaterialize.EncodingBase64}, {Name: "blob"}}})},
		want: map[string]string{"flag": "aW4g", "flag-size": "6", "flag-sha256": sum("in dir"), "flag-inline": "false", "flag-path": "sub.txt"},
	}, {
		name: "optional result missing gives its default",
		run:  newRun("optional", withConfigMapWorkspace("ws", "files"), withEmbedded(`{"results":[{"name":"none","optional":true,"default":"n/a"}]}`)),
		want: map[string]string{"none": "n/a", "none-size": "0", "none-sha256": "", "none-inline": "true", "none-path": "none"},
	}, {
		name: "chosen workspace among several",
		run: newRun("chosen", withConfigMapWorkspace("other", "missing"), withConfigMapWorkspace("ws", "files"),
			withParam("workspace", "ws"), withParam("results", "flag")),
		want: map[string]string{"flag": small, "flag-inline": "true"},
	}, {
		name: "configMap items and subPath",
		run: newRun("items", withParam("results", "f=x/flag"), withWorkspace(v1beta1.WorkspaceBinding{Name: "ws", SubPath: "x",
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "files"},
				Items: []corev1.KeyToPath{{Key: "flag", Path: "x/x/flag"}}}})),
		want: map[string]string{"f": small, "f-path": "x/flag"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{tc.run}, ConfigMaps: []*corev1.ConfigMap{files}}, tc.objs, nil)
			run, err := e.reconcile(t, tc.run.Name)
			if err != nil {
				t.Fatalf("Reconcile() = %v", err)
			}
			if c := condition(run); !run.IsSuccessful() || c.Reason != string(reasons.Materialized) {
				t.Fatalf("condition = %+v, want Succeeded with reason %s", c, reasons.Materialized)
			}
			got := results(run)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("result %s = %.40q, want %.40q", k, got[k], v)
				}
			}
			ef := extraFields(t, run)
			if len(ef.Results) != len(run.Status.Results)/5 {
				t.Errorf("extraFields has %d rows for %d results", len(ef.Results), len(run.Status.Results)/5)
			}
			if run.Status.StartTime == nil || !run.Status.StartTime.Time.Equal(epoch) || run.Status.CompletionTime == nil {
				t.Errorf("start %v completion %v, want start at %v and a completion time", run.Status.StartTime, run.Status.CompletionTime, epoch)
			}
			evs := events(e.ctx)
			if len(evs) != 2 || !strings.HasPrefix(evs[0], "Normal Running") || !strings.HasPrefix(evs[1], "Normal Materialized") {
				t.Errorf("events = %q, want Running then Materialized", evs)
			}
			// A ConfigMap is read through the API: no pod, one status write.
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/" + tc.run.Name}})
		})
	}
}

func TestReconcileExtraFieldsTable(t *testing.T) {
	run := newRun("table", withConfigMapWorkspace("ws", "files"), withParam("results", "flag", "blob"))
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, nil)
	got, err := e.reconcile(t, run.Name)
	if err != nil {
		t.Fatal(err)
	}
	want := v1alpha1.ExtraFields{ReadBy: "configMap", Workspace: "ws", Results: []resultmaterialize.Row{
		{Name: "flag", Path: "flag", Size: 3, SHA256: sum(small), Inline: true, Reason: resultmaterialize.Inline},
		{Name: "blob", Path: "blob", Size: 5000, SHA256: sum(large), Reason: resultmaterialize.Reference},
	}}
	if d := cmp.Diff(want, extraFields(t, got)); d != "" {
		t.Errorf("extraFields (-want +got):\n%s", d)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/table"}})
}

func TestReconcileFails(t *testing.T) {
	cm := withConfigMapWorkspace("ws", "files")
	tests := []struct {
		name    string
		run     *v1beta1.CustomRun
		reason  reasons.Reason
		message string
		cfg     map[string]string
	}{
		{"unknown param", newRun("r", cm, withParam("results", "flag"), withParam("treshold", "1")),
			reasons.InvalidSpec, `unknown param "treshold": params[treshold]`, nil},
		{"bad quantity", newRun("r", cm, withParam("results", "flag"), withParam("threshold", "4KB")),
			reasons.InvalidSpec, `invalid value: 4KB: threshold`, nil},
		{"negative quantity", newRun("r", cm, withParam("results", "flag"), withParam("threshold", "-1")),
			reasons.InvalidSpec, `"-1" is not a byte quantity`, nil},
		{"threshold above limit", newRun("r", cm, withParam("results", "flag"), withParam("threshold", "2Mi")),
			reasons.InvalidSpec, `above the limit of 1048576 bytes`, nil},
		{"no results", newRun("r", cm),
			reasons.InvalidSpec, `missing field(s): results`, nil},
		{"results not an array", newRun("r", cm, func(r *v1beta1.CustomRun) {
			r.Spec.Params = append(r.Spec.Params, v1beta1.Param{Name: "results", Value: *v1beta1.NewStructuredValues("flag")})
		}), reasons.InvalidSpec, `invalid value type: string: params[results].value`, nil},
		{"duplicate names", newRun("r", cm, withParam("results", "flag", "flag")),
			reasons.InvalidSpec, `result "flag" is listed twice`, nil},
		{"companion collision", newRun("r", cm, withParam("results", "flag", "flag-size")),
			reasons.InvalidSpec, `result "flag-size" collides with a companion of result "flag"`, nil},
		{"invalid name", newRun("r", cm, withParam("results", "bad name")),
			reasons.InvalidSpec, `"bad name" is not a valid result name`, nil},
		{"absolute path", newRun("r", cm, withParam("results", "flag=/etc/passwd")),
			reasons.InvalidSpec, `path "/etc/passwd" is absolute`, nil},
		{"dot-dot path", newRun("r", cm, withParam("results", "flag=../x")),
			reasons.InvalidSpec, `path "../x" contains ".."`, nil},
		{"dot-dot directory", newRun("r", cm, withParam("results", "flag"), withParam("directory", "a/../..")),
			reasons.InvalidSpec, `path "a/../.." contains ".."`, nil},
		{"unknown policy", newRun("r", cm, withParam("results", "flag"), withParam("on-oversize", "drop")),
			reasons.InvalidSpec, `invalid value: drop: onOversize`, nil},
		{"unknown encoding", newRun("r", cm, withEmbedded(`{"results":[{"name":"flag","encoding":"hex"}]}`)),
			reasons.InvalidSpec, `invalid value: hex: results[0].encoding`, nil},
		{"default without optional", newRun("r", cm, withEmbedded(`{"results":[{"name":"flag","default":"x"}]}`)),
			reasons.InvalidSpec, `a default applies only to an optional result`, nil},
		{"unknown embedded field", newRun("r", cm, withEmbedded(`{"results":[{"name":"flag"}],"treshold":"1"}`)),
			reasons.InvalidSpec, `unknown field "treshold"`, nil},
		{"object missing", newRun("r", cm, withRef("nope")),
			reasons.ObjectNotFound, `customRef names ResultMaterialize "nope", which does not exist in namespace "ns"`, nil},
		{"no workspace", newRun("r", withParam("results", "flag")),
			reasons.WorkspaceMissing, `the CustomRun binds no workspace`, nil},
		{"two workspaces none chosen", newRun("r", cm, withConfigMapWorkspace("b", "files"), withParam("results", "flag")),
			reasons.WorkspaceAmbiguous, `the CustomRun binds 2 workspaces (ws, b) and none was chosen`, nil},
		{"chosen workspace not bound", newRun("r", cm, withParam("workspace", "out"), withParam("results", "flag")),
			reasons.WorkspaceMissing, `workspace "out" is not bound; the CustomRun binds: ws`, nil},
		{"emptyDir", newRun("r", withParam("results", "flag"), withWorkspace(v1beta1.WorkspaceBinding{Name: "ws", EmptyDir: &corev1.EmptyDirVolumeSource{}})),
			reasons.WorkspaceNotSupported, `workspace "ws" is bound to emptyDir, which cannot be read`, nil},
		{"secret refused", newRun("r", withParam("results", "flag"), withWorkspace(v1beta1.WorkspaceBinding{Name: "ws", Secret: &corev1.SecretVolumeSource{SecretName: "creds"}})),
			reasons.SecretWorkspaceRefused, `workspace "ws" is bound to secret "creds", and allow-secret-workspaces is false`, nil},
		{"configMap missing", newRun("r", withConfigMapWorkspace("ws", "gone"), withParam("results", "flag")),
			reasons.WorkspaceSourceNotFound, `configMap "gone", which does not exist`, nil},
		{"result missing", newRun("r", cm, withParam("results", "nope")),
			reasons.ResultMissing, `result "nope": file "nope" does not exist in the workspace`, nil},
		{"directory as result", newRun("r", withParam("results", "d=x"), withWorkspace(v1beta1.WorkspaceBinding{Name: "ws",
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "files"},
				Items: []corev1.KeyToPath{{Key: "flag", Path: "x/flag"}}}})),
			reasons.ResultUnreadable, `"x" is a directory, not a regular file`, nil},
		{"oversize under fail", newRun("r", cm, withParam("results", "blob"), withParam("on-oversize", "fail")),
			reasons.ResultOversize, `result "blob": file "blob" is 5000 bytes, above its threshold of 4096 bytes (onOversize: fail)`, nil},
		{"cluster default policy fail", newRun("r", cm, withParam("results", "blob")),
			reasons.ResultOversize, `above its threshold of 4096 bytes`, map[string]string{"default-on-oversize": "fail"}},
		{"budget under fail", newRun("r", cm, withParam("results", "flag", "blob"), withParam("on-oversize", "fail"), withParam("threshold", "1Mi")),
			reasons.InlineBudgetExceeded, `above max-inline-total of 4096 bytes, and result "blob"`, map[string]string{"max-inline-total": "4Ki"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{tc.run}, ConfigMaps: []*corev1.ConfigMap{files}}, nil, tc.cfg)
			run, err := e.reconcile(t, tc.run.Name)
			if err != nil {
				t.Fatalf("Reconcile() = %v, want the run failed and no error", err)
			}
			c := condition(run)
			if !run.IsDone() || run.IsSuccessful() || c.Reason != string(tc.reason) {
				t.Fatalf("condition = %+v, want Failed with reason %s", c, tc.reason)
			}
			if !strings.Contains(c.Message, tc.message) {
				t.Errorf("message = %q, want it to contain %q", c.Message, tc.message)
			}
			if len(run.Status.Results) != 0 {
				t.Errorf("a failed run has results %v", run.Status.Results)
			}
			evs := events(e.ctx)
			if len(evs) == 0 || !strings.HasPrefix(evs[len(evs)-1], "Warning "+string(tc.reason)) {
				t.Errorf("events = %q, want a Warning %s last", evs, tc.reason)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/r"}})
		})
	}
}

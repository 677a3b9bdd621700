package resultmaterialize

import (
	"context"
	"encoding/json"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/test"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/kmeta"
)

const readerImage = "registry.example/reader@sha256:0123"

var readerConfig = map[string]string{"reader-image": readerImage, "reader-start-timeout": "1m", "reader-read-timeout": "3m"}

// withPVC binds workspace ws to the claim named claim, below subPath.
func withPVC(subPath string) runOpt {
	return withWorkspace(v1beta1.WorkspaceBinding{Name: "ws", SubPath: subPath,
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}})
}

func withAnnotation(k, v string) runOpt {
	return func(r *v1beta1.CustomRun) {
		if r.Annotations == nil {
			r.Annotations = map[string]string{}
		}
		r.Annotations[k] = v
	}
}

func pvcRun(opts ...runOpt) *v1beta1.CustomRun {
	base := []runOpt{withPVC("sub"), withParam("results", "flag", "blob"), withStarted(epoch)}
	return newRun("pvc", append(base, opts...)...)
}

// readerPod is the pod the controller made for run, as the cluster would
// show it some time later.
func readerPod(t *testing.T, run *v1beta1.CustomRun, phase corev1.PodPhase, age time.Duration) *corev1.Pod {
	t.Helper()
	cfg, err := config.FromConfigMap(materializeConfig(readerConfig))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := workspace.ReaderPod(run, run.Spec.Workspaces[0], planOf("flag", "blob"), cfg, workspace.Placement{})
	if err != nil {
		t.Fatal(err)
	}
	pod.CreationTimestamp = metav1.NewTime(epoch.Add(-age))
	pod.Status.Phase = phase
	return pod
}

// planOf is the plan the reconciler resolves for a results param naming
// these results, under the default config.
func planOf(names ...string) materialize.Plan {
	plan := materialize.Plan{MaxInlineTotal: config.DefaultMaxInlineTotal}
	for _, n := range names {
		plan.Results = append(plan.Results, materialize.Result{Name: n, Path: n, Threshold: config.DefaultThreshold,
			OnOversize: resultmaterialize.PolicyReference, Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString})
	}
	return plan
}

func podNames(t *testing.T, e *env) []string {
	t.Helper()
	pods, err := e.clients.Kube.CoreV1().Pods(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

func logOf(out protocol.Output) func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
	raw, _ := json.Marshal(out)
	return rawLog(string(raw) + "\n")
}

func rawLog(s string) func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
	return func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(s)), nil
	}
}

func TestReaderPodCreated(t *testing.T) {
	run := pvcRun(withAnnotation("pipeline.tekton.dev/affinity-assistant", "affinity-assistant-abc123"),
		func(r *v1beta1.CustomRun) { r.Labels = map[string]string{"tekton.dev/pipelineRun": "pr"} })
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	got, err := e.reconcile(t, run.Name)
	if ok, after := controller.IsRequeueKey(err); !ok || after != time.Minute {
		t.Fatalf("Reconcile() = %v, want a requeue after reader-timeout (1m)", err)
	}
	if got.IsDone() || extraFields(t, got).ReaderPod != "pvc-reader-0" {
		t.Fatalf("run done %v, extraFields %s: want running with readerPod recorded", got.IsDone(), got.Status.ExtraFields.Raw)
	}
	pod, err := e.clients.Kube.CoreV1().Pods(ns).Get(e.ctx, "pvc-reader-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reader pod not created: %v", err)
	}
	wantPodSC := &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532)), RunAsGroup: ptr.To(int64(65532)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	wantSC := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), RunAsNonRoot: ptr.To(true),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	wantAffinity := &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			"app.kubernetes.io/component": "affinity-assistant", "app.kubernetes.io/instance": "affinity-assistant-abc123"}},
		TopologyKey: "kubernetes.io/hostname"}}},
		NodeAffinity: archAffinity}
	c := pod.Spec.Containers[0]
	for what, d := range map[string]string{
		"pod security context":       cmp.Diff(wantPodSC, pod.Spec.SecurityContext),
		"container security context": cmp.Diff(wantSC, c.SecurityContext),
		"affinity":                   cmp.Diff(wantAffinity, pod.Spec.Affinity),
		"volume": cmp.Diff(corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim", ReadOnly: true}},
			pod.Spec.Volumes[0].VolumeSource),
		"mount":     cmp.Diff([]corev1.VolumeMount{{Name: "workspace", MountPath: "/workspace", ReadOnly: true, SubPath: "sub"}}, c.VolumeMounts),
		"owner":     cmp.Diff([]metav1.OwnerReference{*kmeta.NewControllerRef(run)}, pod.OwnerReferences),
		"labels":    cmp.Diff(map[string]string{"app.kubernetes.io/managed-by": "resultmaterialize", "custom.tekton.dev/customRun": "pvc", "custom.tekton.dev/attempt": "0", "tekton.dev/pipelineRun": "pr"}, pod.Labels),
		"image":     cmp.Diff(readerImage, c.Image),
		"automount": cmp.Diff(ptr.To(false), pod.Spec.AutomountServiceAccountToken),
		"deadline":  cmp.Diff(ptr.To(int64(180)), pod.Spec.ActiveDeadlineSeconds),
	} {
		if d != "" {
			t.Errorf("%s (-want +got):\n%s", what, d)
		}
	}
	if !strings.Contains(strings.Join(c.Args, " "), `-request={"results":[{"name":"flag","path":"flag","threshold":4096,"onOversize":"reference","encoding":"text","type":"string"},{"name":"blob","path":"blob","threshold":4096,"onOversize":"reference","encoding":"text","type":"string"}],"maxInlineTotal":131072,`) {
		t.Errorf("args = %q, want the plan for flag and blob with the run's budget", c.Args)
	}
	if c.Resources.Limits.Memory().String() != "64Mi" || c.Resources.Requests.Cpu().String() != "10m" {
		t.Errorf("resources = %v, want the config-materialize defaults", c.Resources)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "GOMEMLIMIT" || c.Env[0].Value != "60397974" {
		t.Errorf("env = %+v, want GOMEMLIMIT at 90%% of the 64Mi limit", c.Env)
	}
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
}

// archAffinity places a reader pod on a node whose architecture the
// reader image is built for.
var archAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
	NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
		{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64", "arm64"}}}}}}}

func TestReaderPodNoAffinityWithoutAssistant(t *testing.T) {
	run := pvcRun()
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	if _, err := e.reconcile(t, run.Name); err == nil {
		t.Fatal("Reconcile() = nil, want a requeue while the reader pod works")
	}
	pod, err := e.clients.Kube.CoreV1().Pods(ns).Get(e.ctx, "pvc-reader-0", metav1.GetOptions{})
	if err != nil || cmp.Diff(&corev1.Affinity{NodeAffinity: archAffinity}, pod.Spec.Affinity) != "" {
		t.Fatalf("pod %v err %v: want a pod with the architecture requirement only", pod.Spec.Affinity, err)
	}
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-0"}, StatusUpdates: []string{"customruns/pvc"}})
}

func TestReaderPodAdoptedAfterRestart(t *testing.T) {
	run := pvcRun()
	for _, phase := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning} {
		t.Run(string(phase), func(t *testing.T) {
			pod := readerPod(t, run, phase, 10*time.Second)
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
			got, err := e.reconcile(t, run.Name)
			if ok, _ := controller.IsRequeueKey(err); !ok {
				t.Fatalf("Reconcile() = %v, want a requeue while the pod works", err)
			}
			if names := podNames(t, e); len(names) != 1 || got.IsDone() {
				t.Errorf("pods %v, done %v: want the existing pod adopted, no second one, the run still running", names, got.IsDone())
			}
			// Adopting the pod records it on the run; nothing is created.
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
		})
	}
}

func TestReaderPodSucceeded(t *testing.T) {
	run := pvcRun()
	pod := readerPod(t, run, corev1.PodSucceeded, 5*time.Second)
	big := strings.Repeat("B", 5000)
	out := protocol.Output{Files: []protocol.FileReport{
		{Path: "flag", Found: true, Size: 4, SHA256: sum("true"), Head: []byte("true")},
		{Path: "blob", Found: true, Size: 5000, SHA256: sum(big)},
	}}
	e := newEnvWithLogs(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig, logOf(out))
	got, err := e.reconcile(t, run.Name)
	if err != nil || !got.IsSuccessful() {
		t.Fatalf("err %v condition %+v: want Succeeded", err, condition(got))
	}
	want := map[string]string{"flag": "true", "flag-inline": "true", "blob": "blob", "blob-size": "5000", "blob-sha256": sum(big), "blob-inline": "false", "blob-path": "blob"}
	for k, v := range want {
		if results(got)[k] != v {
			t.Errorf("result %s = %q, want %q", k, results(got)[k], v)
		}
	}
	if names := podNames(t, e); len(names) != 1 {
		t.Errorf("pods %v: the pod must stay until the run is seen done, so a stale reconcile reads it again", names)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
	if again, err := e.reconcile(t, run.Name); err != nil || !again.IsSuccessful() {
		t.Fatalf("reconcile of the done run: err %v condition %+v", err, condition(again))
	}
	if names := podNames(t, e); len(names) != 0 {
		t.Errorf("pods left after the run was seen done: %v", names)
	}
	e.wantWrites(t, writes{Deletes: []string{"pods/pvc-reader-0"}})
}

func TestReaderPodStaleRunDoesNotRetryTwice(t *testing.T) {
	// The informer still holds the run as it was before the API server
	// recorded a retry, and the first attempt's pod is gone.
	run := pvcRun(withRetries(2), func(r *v1beta1.CustomRun) {
		r.Status.ExtraFields.Raw = []byte(`{"readerPod":"pvc-reader-0"}`)
	})
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, readerConfig)
	older, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newer := older.DeepCopy()
	newer.Status.RetriesStatus = []v1beta1.CustomRunStatus{run.Status}
	if _, err := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).UpdateStatus(e.ctx, newer, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.runs.Update(older); err != nil {
		t.Fatal(err)
	}
	e.clearActions()
	err = e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok {
		t.Fatalf("Reconcile() = %v, want a requeue to see the newer run", err)
	}
	got, _ := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, run.Name, metav1.GetOptions{})
	if len(got.Status.RetriesStatus) != 1 {
		t.Errorf("retries = %d, want the 1 the API server holds", len(got.Status.RetriesStatus))
	}
	for _, ev := range events(e.ctx) {
		if strings.Contains(ev, "Retrying") {
			t.Errorf("event %q: a stale copy of the run must not start another attempt", ev)
		}
	}
	// A stale copy writes nothing: no status, no pod.
	e.wantWrites(t, writes{})
}

func TestReaderPodFailures(t *testing.T) {
	failed := func(run *v1beta1.CustomRun) *corev1.Pod {
		pod := readerPod(t, run, corev1.PodFailed, 5*time.Second)
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "reader", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Message: "reader: opening the workspace: no such file or directory"}}}}
		return pod
	}
	evicted := func(run *v1beta1.CustomRun) *corev1.Pod {
		pod := readerPod(t, run, corev1.PodFailed, 5*time.Second)
		pod.Status.Reason, pod.Status.Message = "Evicted", "The node was low on resource: ephemeral-storage."
		return pod
	}
	unschedulable := func(run *v1beta1.CustomRun) *corev1.Pod {
		pod := readerPod(t, run, corev1.PodPending, 2*time.Minute)
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
			Message: "0/1 nodes are available: 1 node(s) didn't match pod affinity rules."}}
		return pod
	}
	succeeded := func(run *v1beta1.CustomRun) *corev1.Pod { return readerPod(t, run, corev1.PodSucceeded, time.Second) }
	deleting := func(run *v1beta1.CustomRun) *corev1.Pod {
		pod := readerPod(t, run, corev1.PodRunning, time.Second)
		pod.DeletionTimestamp = &metav1.Time{Time: epoch}
		return pod
	}
	reader0 := []string{"pods/pvc-reader-0"}
	tests := []struct {
		name    string
		pod     func(*v1beta1.CustomRun) *corev1.Pod
		logs    func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error)
		run     []runOpt
		reason  reasons.Reason
		message string
		// deletes are the pods removed as the run fails: a failure of the
		// reader pod ends its attempt, which cleans the pod up at once; a
		// result's own error leaves it until the run is seen done.
		deletes []string
	}{
		{name: "reader failed", deletes: reader0, pod: failed, reason: reasons.ReaderFailed,
			message: `reader pod "pvc-reader-0" failed: reader: opening the workspace: no such file or directory (exit code 1)`},
		{name: "evicted", deletes: reader0, pod: evicted, reason: reasons.ReaderFailed, message: `Evicted: The node was low on resource: ephemeral-storage.`},
		{name: "pending past reader-timeout", deletes: reader0, pod: unschedulable, reason: reasons.ReaderUnschedulable,
			message: `stayed Pending for 2m0s, past reader-start-timeout 1m0s: Unschedulable: 0/1 nodes are available: 1 node(s) didn't match pod affinity rules.`},
		{name: "malformed output", deletes: reader0, pod: succeeded, logs: rawLog(`{"files":[{"path":1}]}`), reason: reasons.ReaderOutputInvalid,
			message: `output is not a reader document (22 bytes)`},
		{name: "rotated log", deletes: reader0, pod: succeeded, logs: rawLog(`"found":true,"size":3}]}`), reason: reasons.ReaderOutputCut,
			message: `the log does not begin with the reader's document (24 bytes)`},
		{name: "truncated output", deletes: reader0, pod: succeeded, logs: rawLog(`{"files":[{"path":"flag"`), reason: reasons.ReaderOutputInvalid,
			message: `output is not a reader document`},
		{name: "trailing output", deletes: reader0, pod: succeeded, logs: rawLog(`{"files":[{"path":"flag"},{"path":"blob"}]} {}`), reason: reasons.ReaderOutputInvalid,
			message: `output has data after the reader document`},
		{name: "oversized output", deletes: reader0, pod: succeeded, logs: rawLog(`{"files":[` + strings.Repeat(" ", 200000) + `]}`), reason: reasons.ReaderOutputInvalid,
			message: `output is over`},
		{name: "wrong files", deletes: reader0, pod: succeeded, logs: rawLog(`{"files":[{"path":"blob"},{"path":"flag"}]}`), reason: reasons.ReaderOutputInvalid,
			message: `report for "blob" answers a request for "flag"`},
		{name: "head over limit", deletes: reader0, pod: succeeded, logs: logOf(protocol.Output{Files: []protocol.FileReport{
			{Path: "flag", Found: true, Size: 5000, Head: []byte(strings.Repeat("x", 4097))}, {Path: "blob"}}}),
			reason: reasons.ReaderOutputInvalid, message: `report for "flag" has 4097 head bytes for a size of 5000 and a limit of 4096: want 0`},
		{name: "pod deleted while running", pod: deleting, reason: reasons.ReaderFailed, message: `reader pod "pvc-reader-0" was deleted before it finished`},
		{name: "foreign pod with the name", pod: func(run *v1beta1.CustomRun) *corev1.Pod {
			pod := readerPod(t, run, corev1.PodRunning, time.Second)
			pod.OwnerReferences = nil
			return pod
		}, reason: reasons.ReaderRefused, message: `pod "pvc-reader-0" exists and is not this CustomRun's reader pod: delete or rename it`},
		{name: "recorded pod gone", run: []runOpt{func(r *v1beta1.CustomRun) {
			r.Status.ExtraFields.Raw = []byte(`{"readerPod":"pvc-reader-0"}`)
		}}, reason: reasons.ReaderFailed, message: `reader pod "pvc-reader-0" was deleted before it finished`},
		{name: "result error from the reader", pod: succeeded, logs: logOf(protocol.Output{Files: []protocol.FileReport{
			{Path: "flag", Found: true, Error: &protocol.FileError{Reason: reasons.ResultUnreadable, Message: `"flag" escapes the workspace through a symbolic link`}}, {Path: "blob"}}}),
			reason: reasons.ResultUnreadable, message: `result "flag": "flag" escapes the workspace through a symbolic link`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := pvcRun(tc.run...)
			d := test.Data{CustomRuns: []*v1beta1.CustomRun{run}}
			if tc.pod != nil {
				d.Pods = []*corev1.Pod{tc.pod(run)}
			}
			e := newEnvWithLogs(t, d, nil, readerConfig, tc.logs)
			got, err := e.reconcile(t, run.Name)
			if err != nil {
				t.Fatalf("Reconcile() = %v", err)
			}
			c := condition(got)
			if !got.IsDone() || c.Reason != string(tc.reason) || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("condition = %s %q, want Failed %s containing %q", c.Reason, c.Message, tc.reason, tc.message)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}, Deletes: tc.deletes})
			e.syncPods(t)
			if _, err := e.reconcile(t, run.Name); err != nil {
				t.Fatalf("reconcile of the done run: %v", err)
			}
			// A foreign pod is not the run's; a pod being deleted is the
			// kubelet's to remove.
			if names := podNames(t, e); len(names) != 0 && tc.name != "foreign pod with the name" && tc.name != "pod deleted while running" {
				t.Errorf("pods left after the run was seen done: %v", names)
			}
			// Seen done, the run deletes its own pod if the failed attempt
			// left it, unless it is already being deleted: once, in all.
			var cleanup []string
			if tc.pod != nil && len(tc.deletes) == 0 && tc.name != "foreign pod with the name" && tc.name != "pod deleted while running" {
				cleanup = []string{"pods/pvc-reader-0"}
			}
			e.wantWrites(t, writes{Deletes: cleanup})
		})
	}
}

func TestReaderPodRetries(t *testing.T) {
	run := pvcRun(withRetries(1))
	pod := readerPod(t, run, corev1.PodFailed, 5*time.Second)
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
	got, err := e.reconcile(t, run.Name)
	if ok, _ := controller.IsRequeueKey(err); !ok || got.IsDone() || len(got.Status.RetriesStatus) != 1 {
		t.Fatalf("err %v done %v retries %d: want a retry", err, got.IsDone(), len(got.Status.RetriesStatus))
	}
	if r := got.Status.RetriesStatus[0].GetCondition("Succeeded"); r.Reason != string(reasons.ReaderFailed) {
		t.Errorf("retry status reason %s, want %s", r.Reason, reasons.ReaderFailed)
	}
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}, Deletes: []string{"pods/pvc-reader-0"}})
	if _, err := e.reconcile(t, run.Name); err == nil {
		t.Fatal("second attempt did not wait for its reader pod")
	}
	if names := podNames(t, e); len(names) != 1 || names[0] != "pvc-reader-1" {
		t.Errorf("pods %v, want only the second attempt's pvc-reader-1", names)
	}
	e.wantWrites(t, writes{Creates: []string{"pods/pvc-reader-1"}, StatusUpdates: []string{"customruns/pvc"}})
}

func TestReaderPodKeptWhenConfigured(t *testing.T) {
	run := pvcRun()
	pod := readerPod(t, run, corev1.PodFailed, 5*time.Second)
	cfg := map[string]string{"reader-image": readerImage, "keep-failed-readers": "true"}
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, cfg)
	for range 2 {
		if got, _ := e.reconcile(t, run.Name); !got.IsDone() {
			t.Fatal("run not failed")
		}
	}
	if names := podNames(t, e); len(names) != 1 {
		t.Errorf("pods %v, want the failed reader kept", names)
	}
	// One status write over both reconciles, and no delete.
	e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}})
}

func TestReaderPodDeletedOnCancelAndTimeout(t *testing.T) {
	for name, opts := range map[string][]runOpt{
		"cancel":  {withCancelled()},
		"timeout": {withTimeout(time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			run := pvcRun(opts...)
			run.Status.StartTime = &metav1.Time{Time: epoch.Add(-time.Minute)}
			pod := readerPod(t, run, corev1.PodRunning, 5*time.Second)
			e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}, Pods: []*corev1.Pod{pod}}, nil, readerConfig)
			got, err := e.reconcile(t, run.Name)
			if err != nil || !got.IsDone() {
				t.Fatalf("err %v condition %+v: want the run ended", err, condition(got))
			}
			if names := podNames(t, e); len(names) != 0 {
				t.Errorf("pods left: %v", names)
			}
			e.wantWrites(t, writes{StatusUpdates: []string{"customruns/pvc"}, Deletes: []string{"pods/pvc-reader-0"}})
		})
	}
}

func TestSecretWorkspaceAllowedUsesReaderPod(t *testing.T) {
	run := newRun("sec", withParam("results", "token"), withWorkspace(v1beta1.WorkspaceBinding{Name: "ws", Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}))
	cfg := map[string]string{"reader-image": readerImage, "allow-secret-workspaces": "true"}
	e := newEnv(t, test.Data{CustomRuns: []*v1beta1.CustomRun{run}}, nil, cfg)
	if _, err := e.reconcile(t, run.Name); err == nil {
		t.Fatal("Reconcile() = nil, want a requeue while the reader pod works")
	}
	pod, err := e.clients.Kube.CoreV1().Pods(ns).Get(e.ctx, "sec-reader-0", metav1.GetOptions{})
	if err != nil || pod.Spec.Volumes[0].Secret == nil || pod.Spec.Volumes[0].Secret.SecretName != "creds" {
		t.Fatalf("pod %+v err %v: want a reader pod mounting secret creds", pod, err)
	}
	e.wantWrites(t, writes{Creates: []string{"pods/sec-reader-0"}, StatusUpdates: []string{"customruns/sec"}})
}

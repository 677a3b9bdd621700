package workspace

import (
	"context"
	"k8s.io/utils/ptr"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
)

var dedicated = []corev1.Toleration{{Key: "pool", Operator: corev1.TolerationOpEqual, Value: "pipelines", Effect: corev1.TaintEffectNoSchedule}}

func assistant(name string, claims ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Namespace: "ns", Labels: map[string]string{
			"app.kubernetes.io/component": "affinity-assistant", "app.kubernetes.io/instance": name}},
		Spec: corev1.PodSpec{Tolerations: dedicated, NodeSelector: map[string]string{"pool": "pipelines"}},
	}
	for _, c := range claims {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return pod
}

func attempt(annotation, claim string) Attempt {
	run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns",
		Annotations: map[string]string{"pipeline.tekton.dev/affinity-assistant": annotation}}}
	b := v1beta1.WorkspaceBinding{Name: "ws", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}
	return Attempt{Run: run, Binding: b}
}

func instanceOf(p Placement) string {
	if p.Affinity == nil {
		return ""
	}
	return p.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchLabels["app.kubernetes.io/instance"]
}

// TestPlacement: the reader follows the affinity assistant onto a tainted,
// dedicated pool, and under coschedule: workspaces it follows the assistant
// of the claim it reads, not the one the annotation names.
func TestPlacement(t *testing.T) {
	tests := []struct {
		name     string
		pods     []*corev1.Pod
		attempt  Attempt
		instance string
		reason   reasons.Reason
	}{
		{name: "no assistant", attempt: attempt("", "c1")},
		{name: "assistant mounting the claim", pods: []*corev1.Pod{assistant("aa-1", "c1")}, attempt: attempt("aa-1", "c1"), instance: "aa-1"},
		{name: "per-pipelinerun assistant mounting every claim", pods: []*corev1.Pod{assistant("aa-1", "c1", "c2")}, attempt: attempt("aa-1", "c2"), instance: "aa-1"},
		{name: "annotation names another workspace's assistant", pods: []*corev1.Pod{assistant("aa-1", "c1"), assistant("aa-2", "c2")},
			attempt: attempt("aa-1", "c2"), instance: "aa-2"},
		{name: "no assistant mounts the claim", pods: []*corev1.Pod{assistant("aa-1", "c1")}, attempt: attempt("aa-1", "c9"),
			reason: reasons.ReaderPlacementUnknown},
		{name: "assistant pod not there", attempt: attempt("aa-1", "c1"), instance: "aa-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			for _, p := range tc.pods {
				if _, err := kube.CoreV1().Pods("ns").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			s := &PodSource{Kube: kube}
			got, err := s.placement(context.Background(), tc.attempt)
			if tc.reason != "" {
				if o := outcome.As(err); o == nil || o.Reason != tc.reason || o.Kind != outcome.Terminal {
					t.Fatalf("placement = %v, want %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if instanceOf(got) != tc.instance {
				t.Errorf("affinity to %q, want %q", instanceOf(got), tc.instance)
			}
			if len(tc.pods) > 0 && (cmp.Diff(dedicated, got.Tolerations) != "" || got.NodeSelector["pool"] != "pipelines") {
				t.Errorf("tolerations %v node selector %v, want the assistant's", got.Tolerations, got.NodeSelector)
			}
		})
	}
}

// TestReaderPodServiceAccount: the reader runs as the run's service
// account, with no token.
func TestReaderPodServiceAccount(t *testing.T) {
	a := attempt("", "c1")
	a.Run.Spec.ServiceAccountName = "gcs-reader"
	cfg := config.Default()
	cfg.ReaderImage = "reader"
	pod, err := ReaderPod(a.Run, a.Binding, a.Plan, cfg, Placement{Tolerations: dedicated})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "gcs-reader" || pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("service account %q automount %v, want gcs-reader without a token", pod.Spec.ServiceAccountName, pod.Spec.AutomountServiceAccountToken)
	}
	if cmp.Diff(dedicated, pod.Spec.Tolerations) != "" {
		t.Errorf("tolerations %v, want the placement's", pod.Spec.Tolerations)
	}
}

// TestPodSelector: the pod informer's selector takes reader pods only, not
// every pod another manager labels.
func TestPodSelector(t *testing.T) {
	sel, err := labels.Parse(PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	for value, want := range map[string]bool{"resultmaterialize": true, "Helm": false, "tekton-pipelines": false, "argocd": false} {
		if got := sel.Matches(labels.Set{ManagedByLabel: value}); got != want {
			t.Errorf("selector %q matches managed-by=%s: %v, want %v", PodSelector, value, got, want)
		}
	}
}

// TestSecretCSIDrivers: a csi binding of a secret-bearing driver is under
// the same gate as a secret binding.
func TestSecretCSIDrivers(t *testing.T) {
	s := NewSources(Deps{})
	isPod := func(src Source) bool { _, ok := src.(*PodSource); return ok }
	csi := func(driver string) v1beta1.WorkspaceBinding {
		return v1beta1.WorkspaceBinding{Name: "ws", CSI: &corev1.CSIVolumeSource{Driver: driver}}
	}
	cfg := config.Default()
	if _, err := s.For(context.Background(), "ns", csi("secrets-store.csi.k8s.io"), cfg); outcome.As(err) == nil || outcome.As(err).Reason != reasons.SecretWorkspaceRefused {
		t.Errorf("secrets-store csi: %v, want %s", err, reasons.SecretWorkspaceRefused)
	}
	if src, err := s.For(context.Background(), "ns", csi("gcsfuse.csi.storage.gke.io"), cfg); err != nil || !isPod(src) {
		t.Errorf("gcs fuse csi: %v, want the reader pod", err)
	}
	cfg.AllowSecretWorkspaces = true
	if src, err := s.For(context.Background(), "ns", csi("secrets-store.csi.k8s.io"), cfg); err != nil || !isPod(src) {
		t.Errorf("secrets-store csi allowed: %v, want the reader pod", err)
	}
}

func TestReaderPodUID(t *testing.T) {
	a := attempt("", "c1")
	for name, uid := range map[string]*int64{"fixed": ptr.To(int64(1000770000)), "platform": nil} {
		cfg := config.Default()
		cfg.ReaderImage = "reader"
		cfg.ReaderUID = uid
		pod, err := ReaderPod(a.Run, a.Binding, a.Plan, cfg, Placement{})
		if err != nil {
			t.Fatal(err)
		}
		sc := pod.Spec.SecurityContext
		if !ptr.Equal(sc.RunAsUser, uid) || !ptr.Equal(sc.RunAsGroup, uid) || !ptr.Deref(sc.RunAsNonRoot, false) {
			t.Errorf("%s: runAsUser %v runAsGroup %v runAsNonRoot %v, want %v, %v and true", name, sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot, uid, uid)
		}
	}
}

func TestReaderPodArchitectures(t *testing.T) {
	zone := corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}
	placed := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{zone}}, {MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}},
	}}}
	got := withArchitectures(placed)
	for i, term := range got.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		last := term.MatchExpressions[len(term.MatchExpressions)-1]
		if last.Key != corev1.LabelArchStable || !slices.Equal(last.Values, Architectures) {
			t.Errorf("term %d: %v, want the placement's requirements and the architectures", i, term)
		}
	}
	if len(placed.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions) != 1 {
		t.Error("the placement's affinity was changed in place")
	}
	if a := withArchitectures(nil); len(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) != 1 {
		t.Errorf("no placement: %v, want one term with the architectures", a)
	}
}

// TestFetchPod: kubectl rmat's pod is the controller's reader pod (image,
// security, volume read-only, placement) holding for a bounded time; the
// run owns it without controlling it, and the controller's informer does
// not select it, so no cleanup of the run's reader pods deletes it.
func TestFetchPod(t *testing.T) {
	a := attempt("", "c1")
	cfg := config.Default()
	cfg.ReaderImage = "reader"
	reader, err := ReaderPod(a.Run, a.Binding, a.Plan, cfg, Placement{Tolerations: dedicated})
	if err != nil {
		t.Fatal(err)
	}
	fetch, err := FetchPod(a.Run, a.Binding, cfg, "run-rmat-x1", 5*time.Minute, Placement{Tolerations: dedicated})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := labels.Parse(PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	owner := fetch.OwnerReferences
	switch {
	case sel.Matches(labels.Set(fetch.Labels)):
		t.Errorf("labels %v: the controller's informer selects kubectl rmat's pod", fetch.Labels)
	case len(owner) != 1 || owner[0].UID != a.Run.UID || owner[0].Controller == nil || *owner[0].Controller:
		t.Errorf("owners %+v, want the run, not as controller", owner)
	case !slices.Equal(fetch.Spec.Containers[0].Args, []string{"-root=/workspace", "-hold=5m0s"}):
		t.Errorf("args %v, want the reader holding for 5m", fetch.Spec.Containers[0].Args)
	case *fetch.Spec.ActiveDeadlineSeconds != 330:
		t.Errorf("active deadline %d, want the hold and 30 s", *fetch.Spec.ActiveDeadlineSeconds)
	}
	reader.Spec.Containers[0].Args, fetch.Spec.Containers[0].Args = nil, nil
	reader.Spec.ActiveDeadlineSeconds, fetch.Spec.ActiveDeadlineSeconds = nil, nil
	reader.Spec.Containers[0].Resources, fetch.Spec.Containers[0].Resources = corev1.ResourceRequirements{}, corev1.ResourceRequirements{}
	reader.Spec.Containers[0].Env, fetch.Spec.Containers[0].Env = nil, nil
	if d := cmp.Diff(reader.Spec, fetch.Spec); d != "" {
		t.Errorf("kubectl rmat's pod differs from the reader pod beyond args, deadline and resources (-reader +fetch):\n%s", d)
	}
}

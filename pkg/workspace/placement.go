package workspace

import (
	"context"
	"fmt"
	"slices"

	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	tknworkspace "github.com/tektoncd/pipeline/pkg/workspace"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Placement is where a reader pod may run.
type Placement struct {
	Affinity     *corev1.Affinity
	Tolerations  []corev1.Toleration
	NodeSelector map[string]string
}

// placement follows the PipelineRun's affinity assistant, when the run
// carries Tekton's annotation: the same required pod affinity Tekton gives
// TaskRun pods, so a ReadWriteOnce volume is reachable, and the
// tolerations and node selector the assistant got from the PipelineRun's
// pod template, so a tainted or dedicated node pool admits the reader.
//
// Under coschedule: workspaces each PVC workspace has its own assistant
// and the annotation names only one of them; the assistant used is the
// one whose pod mounts the claim read. A run without the annotation is
// placed freely.
func (s *PodSource) placement(ctx context.Context, a Attempt) (Placement, error) {
	name := a.Run.Annotations[tknworkspace.AnnotationAffinityAssistantName]
	if name == "" {
		return Placement{}, nil
	}
	pod, err := s.Kube.CoreV1().Pods(a.Run.Namespace).Get(ctx, name+"-0", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Placement{Affinity: assistantAffinity(name)}, nil
	case err != nil:
		return Placement{}, fmt.Errorf("getting affinity assistant pod %s/%s-0: %w", a.Run.Namespace, name, err)
	}
	claim := ""
	if a.Binding.PersistentVolumeClaim != nil {
		claim = a.Binding.PersistentVolumeClaim.ClaimName
	}
	if claims := claimsOf(pod); claim != "" && len(claims) > 0 && !slices.Contains(claims, claim) {
		if pod, err = s.assistantFor(ctx, a.Run, claim); err != nil {
			return Placement{}, err
		}
		if pod == nil {
			return Placement{}, outcome.Fail(reasons.ReaderPlacementUnknown,
				"workspace %q is claim %q, which affinity assistant %q does not mount, and no affinity assistant in namespace %q does: set coschedule to pipelineruns, or read a workspace the assistant mounts",
				a.Binding.Name, claim, name, a.Run.Namespace)
		}
		name = pod.Labels[tknworkspace.LabelInstance]
	}
	return Placement{
		Affinity:     assistantAffinity(name),
		Tolerations:  pod.Spec.Tolerations,
		NodeSelector: pod.Spec.NodeSelector,
	}, nil
}

// Beside is where a later reader of a finished run's binding goes
// (kubectl rmat's pod): as the controller places its reader pod while the
// PipelineRun's affinity assistant is there, and where the volume's own
// node affinity allows once it is gone.
func Beside(ctx context.Context, kube kubernetes.Interface, run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding) (Placement, error) {
	name := run.Annotations[tknworkspace.AnnotationAffinityAssistantName]
	if name == "" {
		return Placement{}, nil
	}
	pod, err := kube.CoreV1().Pods(run.Namespace).Get(ctx, name+"-0", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || (err == nil && pod.DeletionTimestamp != nil):
		return Placement{}, nil
	case err != nil:
		return Placement{}, fmt.Errorf("getting affinity assistant pod %s/%s-0: %w", run.Namespace, name, err)
	}
	return (&PodSource{Kube: kube}).placement(ctx, Attempt{Run: run, Binding: b})
}

// assistantFor finds the affinity assistant pod of the run's PipelineRun
// that mounts claim.
func (s *PodSource) assistantFor(ctx context.Context, run *v1beta1.CustomRun, claim string) (*corev1.Pod, error) {
	ns := run.Namespace
	set := labels.Set{tknworkspace.LabelComponent: tknworkspace.ComponentNameAffinityAssistant}
	if pr := run.Labels[pipeline.PipelineRunLabelKey]; pr != "" {
		set[pipeline.PipelineRunLabelKey] = pr
	}
	selector := labels.SelectorFromSet(set)
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing affinity assistant pods in %s: %w", ns, err)
	}
	for i := range pods.Items {
		if p := &pods.Items[i]; slices.Contains(claimsOf(p), claim) && p.Labels[tknworkspace.LabelInstance] != "" {
			return p, nil
		}
	}
	return nil, nil
}

func claimsOf(pod *corev1.Pod) []string {
	var claims []string
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims = append(claims, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return claims
}

// assistantAffinity is the pod affinity Tekton gives TaskRun pods of a
// PipelineRun with an affinity assistant.
func assistantAffinity(name string) *corev1.Affinity {
	return &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				tknworkspace.LabelInstance:  name,
				tknworkspace.LabelComponent: tknworkspace.ComponentNameAffinityAssistant,
			}},
			TopologyKey: corev1.LabelHostname,
		}},
	}}
}

package workspace

import (
	"encoding/json"
	"fmt"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	tknworkspace "github.com/tektoncd/pipeline/pkg/workspace"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/kmeta"
)

// Labels on reader pods. ManagedByLabel is also the pod informer's filter.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "resultmaterialize"
	RunLabel       = "custom.tekton.dev/customRun"
	AttemptLabel   = "custom.tekton.dev/attempt"
)

// ReaderUID is the fixed non-root user the reader runs as.
const ReaderUID = 65532

// MountPath is where the workspace is mounted in the reader pod.
const MountPath = "/workspace"

// PodName is the reader pod's name for the run's current attempt: the same
// on every reconcile, so a restarted controller finds the pod it made.
func PodName(run *v1beta1.CustomRun) string {
	return kmeta.ChildName(run.Name, fmt.Sprintf("-reader-%d", run.GetRetryCount()))
}

// ReaderPod builds the reader pod for one attempt: restricted Pod
// Security, the volume read-only, and the affinity assistant's placement
// when the run carries Tekton's annotation.
func ReaderPod(run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, reqs []materialize.FileRequest, cfg *config.Config) (*corev1.Pod, error) {
	request, err := json.Marshal(reqs)
	if err != nil {
		return nil, fmt.Errorf("encoding the reader request: %w", err)
	}
	labels := map[string]string{
		ManagedByLabel: ManagedByValue,
		RunLabel:       run.Name,
		AttemptLabel:   fmt.Sprint(run.GetRetryCount()),
	}
	for _, k := range []string{"tekton.dev/pipelineRun", "tekton.dev/pipelineTask", "tekton.dev/pipeline"} {
		if v, ok := run.Labels[k]; ok {
			labels[k] = v
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            PodName(run),
			Namespace:       run.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(run)},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			ActiveDeadlineSeconds:         ptr.To(int64(cfg.ReaderTimeout.Seconds())),
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To(int64(ReaderUID)),
				RunAsGroup:     ptr.To(int64(ReaderUID)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:                     "reader",
				Image:                    cfg.ReaderImage,
				Args:                     []string{"-root=" + MountPath, "-request=" + string(request)},
				Resources:                *cfg.ReaderResources.DeepCopy(),
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				VolumeMounts: []corev1.VolumeMount{{
					Name: "workspace", MountPath: MountPath, ReadOnly: true, SubPath: b.SubPath,
				}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					RunAsNonRoot:             ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
			Volumes:  []corev1.Volume{{Name: "workspace", VolumeSource: volumeSource(b)}},
			Affinity: affinity(run),
		},
	}
	return pod, nil
}

// volumeSource mounts the binding read-only.
func volumeSource(b v1beta1.WorkspaceBinding) corev1.VolumeSource {
	switch {
	case b.PersistentVolumeClaim != nil:
		pvc := *b.PersistentVolumeClaim
		pvc.ReadOnly = true
		return corev1.VolumeSource{PersistentVolumeClaim: &pvc}
	case b.CSI != nil:
		csi := b.CSI.DeepCopy()
		csi.ReadOnly = ptr.To(true)
		return corev1.VolumeSource{CSI: csi}
	default:
		return corev1.VolumeSource{Secret: b.Secret.DeepCopy()}
	}
}

// affinity is the pod affinity Tekton gives TaskRun pods of a PipelineRun
// with an affinity assistant, so a ReadWriteOnce volume is reachable. Every
// coschedule mode that uses an assistant sets the annotation; without it
// the pod is placed freely.
func affinity(run *v1beta1.CustomRun) *corev1.Affinity {
	name := run.Annotations[tknworkspace.AnnotationAffinityAssistantName]
	if name == "" {
		return nil
	}
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

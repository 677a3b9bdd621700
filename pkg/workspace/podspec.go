package workspace

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/kmeta"
)

// Labels on reader pods. ManagedByLabel=ManagedByValue is also the pod
// informer's filter, so it caches reader pods and nothing else.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "resultmaterialize"
	RunLabel       = "custom.tekton.dev/customRun"
	AttemptLabel   = "custom.tekton.dev/attempt"
)

// PodSelector selects reader pods for the pod informer.
const PodSelector = ManagedByLabel + "=" + ManagedByValue

// readerContainer names the reader pod's one container.
const readerContainer = "reader"

// PlanAnnotation records, on the reader pod, the plan its attempt started
// with: the pod is created with it in one write, so the outcome is
// computed from the plan the request was made for.
const PlanAnnotation = "custom.tekton.dev/plan"

// OutputAnnotation says, on the reader pod, that its reader prints only
// the heads the run can inline (OutputBudgeted). A pod without it was made
// by an earlier release, whose reader printed every head: its output is
// read under the bound that reader kept.
const OutputAnnotation = "custom.tekton.dev/reader-output"

// OutputBudgeted is OutputAnnotation's value on pods of this release.
const OutputBudgeted = "budgeted"

// MaxPlanBytes bounds PlanAnnotation far below the API server's limit:
// it refuses, on every try, a pod whose annotations together exceed 256
// KiB, and admission webhooks and platforms add their own; the plan keeps
// to half of it.
const MaxPlanBytes = 128 << 10

// MaxRequestBytes bounds the reader's -request argument: Linux refuses a
// single argument over 128 KiB, and the rest is kept for the flag name.
const MaxRequestBytes = 120 << 10

// MountPath is where the workspace is mounted in the reader pod.
const MountPath = "/workspace"

// PodName is the reader pod's name for the run's current attempt: the same
// on every reconcile, so a restarted controller finds the pod it made.
func PodName(run *v1beta1.CustomRun) string {
	return kmeta.ChildName(run.Name, fmt.Sprintf("-reader-%d", run.GetRetryCount()))
}

// ReaderPod builds the reader pod for one attempt: restricted Pod
// Security, the volume read-only, the plan recorded, the run's service
// account (no token) and the affinity assistant's placement.
func ReaderPod(run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, plan materialize.Plan, cfg *config.Config, place Placement) (*corev1.Pod, error) {
	request, err := plan.ReaderRequest()
	if err != nil {
		return nil, err
	}
	if len(request) > MaxRequestBytes {
		return nil, outcome.Fail(reasons.InvalidSpec,
			"the reader request is %d bytes, above the %d bytes one container argument may hold: fewer results, or shorter paths, jsonPaths or expressions", len(request), MaxRequestBytes)
	}
	resources := *cfg.ReaderResources.DeepCopy()
	memory := cfg.ReaderMemoryLimit(plan.Projects())
	resources.Limits[corev1.ResourceMemory] = memory
	recorded, err := json.Marshal(plan)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	if len(recorded) > MaxPlanBytes {
		return nil, outcome.Fail(reasons.PlanTooLarge,
			"the plan of %d results recorded on the reader pod in annotation %s is %d bytes, above the %d bytes the controller keeps an annotation to (the API server allows 256 KiB for all of a pod's annotations): fewer results or shorter defaults, paths or projections per run",
			len(plan.Results), PlanAnnotation, len(recorded), MaxPlanBytes)
	}
	volume, err := volumeSource(b)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		ManagedByLabel: ManagedByValue,
		RunLabel:       runLabel(run),
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
			Annotations:     map[string]string{PlanAnnotation: string(recorded), OutputAnnotation: OutputBudgeted},
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(run)},
		},
		Spec: podSpec(run, b, volume, cfg, []string{"-root=" + MountPath, "-request=" + request}, resources, place),
	}
	pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(cfg.ReaderReadTimeout.Seconds()))
	if plan.Export != nil && cfg.Retain.CredentialsSecret != "" {
		withCredentials(&pod.Spec, cfg.Retain.CredentialsSecret)
	}
	return pod, nil
}

// withCredentials mounts the registry credentials Secret of the run's
// namespace, read-only and optional: without it the reader pushes
// anonymously.
func withCredentials(spec *corev1.PodSpec, secret string) {
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "oci-credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: secret, Optional: ptr.To(true), DefaultMode: ptr.To(int32(0o444)),
		Items: []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: protocol.CredentialsFile}},
	}}})
	c := &spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "oci-credentials", MountPath: protocol.CredentialsDir, ReadOnly: true})
}

// podSpec is every reader pod's spec: restricted Pod Security, the
// binding's volume read-only, no token, the reader image with args, and
// the placement.
func podSpec(run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, volume corev1.VolumeSource, cfg *config.Config, args []string, resources corev1.ResourceRequirements, place Placement) corev1.PodSpec {
	memory := resources.Limits[corev1.ResourceMemory]
	return corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		ServiceAccountName:            run.Spec.ServiceAccountName,
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
		TerminationGracePeriodSeconds: ptr.To(int64(1)),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      cfg.ReaderUID,
			RunAsGroup:     cfg.ReaderUID,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:      readerContainer,
			Image:     cfg.ReaderImage,
			Args:      args,
			Resources: resources,
			// The Go runtime collects harder near the memory limit
			// instead of being killed for passing it.
			Env:                      []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: strconv.FormatInt(memory.Value()/10*9, 10)}},
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
		Volumes:      []corev1.Volume{{Name: "workspace", VolumeSource: volume}},
		Affinity:     withArchitectures(place.Affinity),
		Tolerations:  place.Tolerations,
		NodeSelector: place.NodeSelector,
	}
}

// Labels of kubectl rmat's pods: never ManagedByValue, so the controller's
// informer, and its cleanup of a run's reader pods, never see them.
const (
	FetchManagedBy = "kubectl-rmat"
)

// FetchPod builds kubectl rmat's pod for reading files of a finished run's
// binding: a reader pod like the controller's (image, security, volume
// read-only, placement), owned by the run but not controlled by it, that
// holds for at most hold while the plugin reads through pods/exec.
func FetchPod(run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, cfg *config.Config, name string, hold time.Duration, place Placement) (*corev1.Pod, error) {
	volume, err := volumeSource(b)
	if err != nil {
		return nil, err
	}
	// Not the controller, and not blocking the owner's deletion (which
	// would need update on customruns/finalizers under OpenShift's
	// admission): the garbage collector still deletes it with the run.
	owner := *kmeta.NewControllerRef(run)
	owner.Controller, owner.BlockOwnerDeletion = ptr.To(false), nil
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       run.Namespace,
			Labels:          map[string]string{ManagedByLabel: FetchManagedBy, RunLabel: runLabel(run)},
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Spec: podSpec(run, b, volume, cfg, []string{"-root=" + MountPath, "-hold=" + hold.String()}, *cfg.ReaderResources.DeepCopy(), place),
	}
	pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(hold.Seconds()) + 30)
	return pod, nil
}

// volumeSource mounts the binding read-only.
func volumeSource(b v1beta1.WorkspaceBinding) (corev1.VolumeSource, error) {
	switch {
	case b.PersistentVolumeClaim != nil:
		pvc := *b.PersistentVolumeClaim
		pvc.ReadOnly = true
		return corev1.VolumeSource{PersistentVolumeClaim: &pvc}, nil
	case b.CSI != nil:
		csi := b.CSI.DeepCopy()
		csi.ReadOnly = ptr.To(true)
		return corev1.VolumeSource{CSI: csi}, nil
	case b.Secret != nil:
		return corev1.VolumeSource{Secret: b.Secret.DeepCopy()}, nil
	default:
		return corev1.VolumeSource{}, fmt.Errorf("workspace %q has no volume a reader pod can mount", b.Name)
	}
}

// Architectures are those the reader image is built for (make release):
// the reader pod is placed only on such nodes.
var Architectures = []string{"amd64", "arm64"}

// withArchitectures adds the architecture requirement to every node
// selector term of the placement's affinity, or makes the one term.
func withArchitectures(aff *corev1.Affinity) *corev1.Affinity {
	arch := corev1.NodeSelectorRequirement{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: Architectures}
	out := aff.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.NodeAffinity == nil {
		out.NodeAffinity = &corev1.NodeAffinity{}
	}
	required := out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if required == nil || len(required.NodeSelectorTerms) == 0 {
		out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{arch}}},
		}
		return out
	}
	for i := range required.NodeSelectorTerms {
		required.NodeSelectorTerms[i].MatchExpressions = append(required.NodeSelectorTerms[i].MatchExpressions, arch)
	}
	return out
}

// runLabel is the RunLabel value of the run's reader pods: its name, cut
// to a valid label value.
func runLabel(run *v1beta1.CustomRun) string {
	return kmeta.ChildName(run.Name, "")
}

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// The fixture every measured object reads: a ConfigMap and a volume
// holding the same small result file.
const (
	resultName  = "status"
	resultValue = "ready"
	claimName   = "data"
	configName  = "outputs"
)

// prepare creates the namespace's ConfigMap and a provisioned volume with
// the result file written by a pod, and waits for both.
func (e *env) prepare(ctx context.Context) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: configName}, Data: map[string]string{resultName: resultValue}}
	if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return err
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claimName},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	if _, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return err
	}
	writer := barePod("write", fmt.Sprintf("printf %s > /data/%s", resultValue, resultName), false)
	if err := e.createPod(ctx, writer); err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	select {
	case <-e.track.done(key(kindPod, "write")):
	case <-waitCtx.Done():
		return fmt.Errorf("the pod writing the volume's result file did not finish in 3m")
	}
	if f := e.track.result(key(kindPod, "write")); !f.ok {
		return fmt.Errorf("the pod writing the volume's result file failed")
	}
	return nil
}

func customRun(name string, volume bool, retries int) *v1beta1.CustomRun {
	ws := v1beta1.WorkspaceBinding{Name: "outputs", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configName}}}
	if volume {
		ws = v1beta1.WorkspaceBinding{Name: "outputs", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}
	}
	return &v1beta1.CustomRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.CustomRunSpec{
			CustomRef:  &v1beta1.TaskRef{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ResultMaterialize"},
			Params:     v1beta1.Params{{Name: "results", Value: v1beta1.ParamValue{Type: v1beta1.ParamTypeArray, ArrayVal: []string{resultName}}}},
			Workspaces: []v1beta1.WorkspaceBinding{ws},
			Retries:    retries,
		},
	}
}

// taskRun is what a user writes instead of ResultMaterialize: one step
// that copies the file into a result, its image used as present like the
// bare pod's.
func taskRun(name string) *v1.TaskRun {
	return &v1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.TaskRunSpec{
			Workspaces: []v1.WorkspaceBinding{{Name: "data", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}},
			TaskSpec: &v1.TaskSpec{
				Workspaces: []v1.WorkspaceDeclaration{{Name: "data", ReadOnly: true}},
				Results:    []v1.TaskResult{{Name: resultName}},
				Steps: []v1.Step{{
					Name:            "read",
					Image:           "busybox",
					ImagePullPolicy: corev1.PullIfNotPresent,
					Script:          fmt.Sprintf(`cat "$(workspaces.data.path)/%s" > "$(results.%s.path)"`, resultName, resultName),
				}},
			},
		},
	}
}

// barePod is the floor of any pod: busybox running a command with the
// volume mounted. busybox:latest would be pulled for every pod, and the
// kubelet pulls at most 5 images a second, so it is used as present.
func barePod(name, command string, readOnly bool) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: "main", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/bin/sh", "-c", command},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data", ReadOnly: readOnly}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName},
			}}},
		},
	}
}

func (e *env) createRun(ctx context.Context, run *v1beta1.CustomRun) error {
	_, err := e.tekton.TektonV1beta1().CustomRuns(e.ns).Create(ctx, run, metav1.CreateOptions{})
	return err
}

func (e *env) createTaskRun(ctx context.Context, tr *v1.TaskRun) error {
	_, err := e.tekton.TektonV1().TaskRuns(e.ns).Create(ctx, tr, metav1.CreateOptions{})
	return err
}

func (e *env) createPod(ctx context.Context, pod *corev1.Pod) error {
	_, err := e.kube.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{})
	return err
}

// createRetry is how long a create is retried: the API server restart of
// the chaos run keeps it away for half a minute.
const createRetry = 3 * time.Minute

// burst runs create for names in parallel (the API client allows it) and
// returns when every create has returned.
func burst(ctx context.Context, names []string, create func(context.Context, string) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	work := make(chan string)
	for range 32 {
		wg.Go(func() {
			for name := range work {
				err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, createRetry, true, func(ctx context.Context) (bool, error) {
					err := create(ctx, name)
					return err == nil || apierrors.IsAlreadyExists(err), nil
				})
				if err != nil {
					mu.Lock()
					first = fmt.Errorf("creating %s, retried for %s: %w", name, createRetry, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	return first
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

//go:build e2e

// Package e2e runs real PipelineRuns and CustomRuns against a cluster with
// Tekton and ResultMaterialize installed (hack/cluster.sh up). It reads
// KUBECONFIG. Tests run one after another: some change config-materialize
// and put it back.
package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

const (
	controllerNamespace = "resultmaterialize"
	// runTimeout bounds one PipelineRun; the first one on a fresh cluster
	// waits for a volume to be provisioned and images to be pulled.
	runTimeout = 4 * time.Minute
)

type clients struct {
	kube   kubernetes.Interface
	tekton versioned.Interface
}

func setup(t *testing.T) (context.Context, *clients, string) {
	t.Helper()
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("KUBECONFIG is not set: the e2e suite needs a cluster (make e2e brings one up)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c := &clients{kube: kubernetes.NewForConfigOrDie(cfg), tekton: versioned.NewForConfigOrDie(cfg)}
	ctx := t.Context()
	ns := fmt.Sprintf("rm-e2e-%s-%s", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), rand.String(4))
	if len(ns) > 63 {
		ns = ns[len(ns)-63:]
	}
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Tekton makes pods under the namespace's default service account,
	// which the controller-manager creates moments after the namespace.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s has no default service account: %v", ns, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dump(c, ns, t)
		}
		_ = c.kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ctx, c, ns
}

// dump logs what a failed test left, to tell why.
func dump(c *clients, ns string, t *testing.T) {
	ctx := context.Background()
	if runs, err := c.tekton.TektonV1beta1().CustomRuns(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, r := range runs.Items {
			y, _ := yaml.Marshal(r.Status)
			t.Logf("CustomRun %s status:\n%s", r.Name, y)
		}
	}
	if prs, err := c.tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, r := range prs.Items {
			y, _ := yaml.Marshal(r.Status.Conditions)
			t.Logf("PipelineRun %s conditions:\n%s", r.Name, y)
		}
	}
	if pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			t.Logf("pod %s: %s %s", p.Name, p.Status.Phase, p.Status.Message)
		}
	}
}

// create decodes a YAML document strictly into obj and creates it.
func decode(t *testing.T, doc string, obj any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("decoding %s: %v", doc, err)
	}
}

func waitDone(ctx context.Context, t *testing.T, get func(context.Context) (apis.ConditionAccessor, error), what string) *apis.Condition {
	t.Helper()
	var cond *apis.Condition
	err := wait.PollUntilContextTimeout(ctx, time.Second, runTimeout, true, func(ctx context.Context) (bool, error) {
		obj, err := get(ctx)
		if err != nil {
			return false, err
		}
		cond = obj.GetCondition(apis.ConditionSucceeded)
		return cond != nil && cond.Status != corev1.ConditionUnknown, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s to finish: %v (last condition %+v)", what, err, cond)
	}
	return cond
}

func waitCustomRun(ctx context.Context, t *testing.T, c *clients, ns, name string) (*v1beta1.CustomRun, *apis.Condition) {
	t.Helper()
	var run *v1beta1.CustomRun
	cond := waitDone(ctx, t, func(ctx context.Context) (apis.ConditionAccessor, error) {
		var err error
		run, err = c.tekton.TektonV1beta1().CustomRuns(ns).Get(ctx, name, metav1.GetOptions{})
		return &run.Status, err
	}, "CustomRun "+name)
	return run, cond
}

func results(run *v1beta1.CustomRun) map[string]string {
	out := map[string]string{}
	for _, r := range run.Status.Results {
		out[r.Name] = r.Value
	}
	return out
}

// setConfig changes config-materialize and puts it back when the test ends.
func setConfig(ctx context.Context, t *testing.T, c *clients, data map[string]string) {
	t.Helper()
	cms := c.kube.CoreV1().ConfigMaps(controllerNamespace)
	cm, err := cms.Get(ctx, "config-materialize", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	saved := cm.DeepCopy()
	for k, v := range data {
		cm.Data[k] = v
	}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		latest, err := cms.Get(context.Background(), "config-materialize", metav1.GetOptions{})
		if err != nil {
			t.Errorf("restoring config-materialize: %v", err)
			return
		}
		latest.Data = saved.Data
		if _, err := cms.Update(context.Background(), latest, metav1.UpdateOptions{}); err != nil {
			t.Errorf("restoring config-materialize: %v", err)
		}
		// Informers see the change within moments; wait so the next test
		// runs under the restored config.
		time.Sleep(3 * time.Second)
	})
	time.Sleep(3 * time.Second)
}

func readerPods(ctx context.Context, t *testing.T, c *clients, ns string) []corev1.Pod {
	t.Helper()
	pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=resultmaterialize"})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// createClaim creates the 16Mi ReadWriteOnce claim "data" of a storage
// class, or of the default class when class is empty.
func createClaim(ctx context.Context, t *testing.T, c *clients, ns, class string) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("16Mi")}},
		},
	}
	if class != "" {
		pvc.Spec.StorageClassName = &class
	}
	if _, err := c.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

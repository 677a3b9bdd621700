// Command bench measures ResultMaterialize on a cluster (make
// bench-cluster) and runs the chaos scenario (make chaos). It reads
// KUBECONFIG, works in a namespace of its own, and times every run by a
// watch on the client's clock: the API's timestamps have one-second
// granularity. It asserts nothing about time; it reports.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// controllerNamespace is where config/ installs the controller.
const controllerNamespace = "resultmaterialize"

type env struct {
	rest   *rest.Config
	kube   kubernetes.Interface
	tekton versioned.Interface
	ns     string
	track  *tracker
	// created records how fast each burst was created.
	created []string
}

func main() {
	mode := flag.String("mode", "bench", "bench: measure and print the table; chaos: kill leaders under load and check every run; storage: 200 MiB through each object-store mounter against local-path; direct: the object-store rows of bench alone; stage: the pipeline stage rows of bench alone; plugin: kubectl rmat's cat and ls")
	out := flag.String("out", "bench-results", "directory that keeps a dated copy of each report")
	scale := flag.Int("scale", 1000, "ConfigMap runs created at once (the chaos run and the burst row)")
	restart := flag.String("restart-apiserver", "", "command that restarts the API server mid-burst (chaos); empty skips that phase")
	keep := flag.Bool("keep", false, "keep the namespace afterwards")
	flag.Parse()

	if err := run(*mode, *out, *scale, *restart, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(mode, out string, scale int, restart string, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	e, err := connect(ctx)
	if e != nil && !keep {
		defer func() {
			_ = e.kube.CoreV1().Namespaces().Delete(context.Background(), e.ns, metav1.DeleteOptions{})
		}()
	}
	if err != nil {
		return err
	}
	var r *report
	switch mode {
	case "bench":
		r, err = e.bench(ctx, scale)
	case "chaos":
		r, err = e.chaos(ctx, scale, restart)
	case "storage":
		r, err = e.storage(ctx)
	case "direct":
		r = &report{title: fmt.Sprintf("Object-store reads, direct and through the reader pod, %s", time.Now().UTC().Format(time.RFC3339))}
		err = e.direct(ctx, r)
	case "plugin":
		r = &report{title: fmt.Sprintf("kubectl rmat, %s", time.Now().UTC().Format(time.RFC3339))}
		err = e.plugin(ctx, r)
	case "export":
		r = &report{title: fmt.Sprintf("Results exported as OCI artifacts (retain: oci), %s", time.Now().UTC().Format(time.RFC3339))}
		err = e.export(ctx, r)
	case "stage":
		r = &report{title: fmt.Sprintf("A result handed between pipeline tasks, %s", time.Now().UTC().Format(time.RFC3339))}
		err = e.stage(ctx, r)
	default:
		err = fmt.Errorf("unknown -mode %q: bench, chaos, storage, direct, stage, plugin or export", mode)
	}
	if r != nil {
		fmt.Print(r.String())
		if werr := keepReport(out, mode, r); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func keepReport(dir, mode string, r *report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.md", time.Now().UTC().Format("2006-01-02T150405Z"), mode))
	fmt.Println("\nkept as", path)
	return os.WriteFile(path, []byte(r.String()), 0o644)
}

// connect makes clients that are never the bottleneck, a namespace, and
// watches on it.
func connect(ctx context.Context) (*env, error) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return nil, fmt.Errorf("KUBECONFIG is not set")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	e := &env{
		rest:   cfg,
		kube:   kubernetes.NewForConfigOrDie(cfg),
		tekton: versioned.NewForConfigOrDie(cfg),
		ns:     "rm-bench-" + rand.String(5),
		track:  newTracker(),
	}
	if _, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	// From here on the namespace exists, and the caller deletes it.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := e.kube.CoreV1().ServiceAccounts(e.ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return e, fmt.Errorf("namespace %s has no default service account: %w", e.ns, err)
	}
	tf := tektoninformers.NewSharedInformerFactoryWithOptions(e.tekton, 0, tektoninformers.WithNamespace(e.ns))
	kf := informers.NewSharedInformerFactoryWithOptions(e.kube, 0, informers.WithNamespace(e.ns))
	ignore := func(any) {}
	for _, reg := range []struct {
		informer cache.SharedIndexInformer
		h        cache.ResourceEventHandlerFuncs
	}{
		{tf.Tekton().V1beta1().CustomRuns().Informer(), handlers(e.track.onRun, ignore)},
		{tf.Tekton().V1().TaskRuns().Informer(), handlers(e.track.onTaskRun, ignore)},
		{kf.Core().V1().Pods().Informer(), handlers(e.track.onPod, e.track.onPodDelete)},
	} {
		if _, err := reg.informer.AddEventHandler(reg.h); err != nil {
			return e, err
		}
	}
	tf.Start(ctx.Done())
	kf.Start(ctx.Done())
	tf.WaitForCacheSync(ctx.Done())
	kf.WaitForCacheSync(ctx.Done())
	fmt.Printf("namespace %s\n", e.ns)
	return e, e.prepare(ctx)
}

// waitAll waits until every key is done or the timeout passes, and
// returns the keys not done.
func (e *env) waitAll(ctx context.Context, keys []string, timeout time.Duration) []string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var missing []string
	for _, k := range keys {
		select {
		case <-e.track.done(k):
		case <-ctx.Done():
			missing = append(missing, k)
		}
	}
	return missing
}

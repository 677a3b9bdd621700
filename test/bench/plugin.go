package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// The plugin rows: cat of a 100 MiB reference against kubectl exec's cat
// of the same file from a pod already running on the claim, interleaved,
// with the plugin's peak RSS; and ls of a PipelineRun of 10
// ResultMaterialize tasks of 20 results.
const (
	pluginPairs   = 5
	pluginBig     = "big100"
	pluginBytes   = 100 << 20
	pluginTasks   = 10
	pluginResults = 20
	pluginLs      = 5
)

func (e *env) plugin(ctx context.Context, r *report) error {
	dir, err := os.MkdirTemp("", "kubectl-rmat-bench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "kubectl-rmat")
	// As hack/release-plugin.sh builds it: static (no cgo), stripped. A
	// cgo build links kustomize's plugin loader dynamically, with every
	// symbol exported, and starts 20 MiB larger.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/kubectl-rmat")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the plugin: %w: %s", err, out)
	}
	writer := barePod("write-big", fmt.Sprintf("head -c %d /dev/urandom > /data/%s", pluginBytes, pluginBig), false)
	if err := e.createPod(ctx, writer); err != nil {
		return err
	}
	if _, err := e.one(ctx, key(kindPod, "write-big"), func(context.Context) error { return nil }); err != nil {
		return err
	}
	if _, err := e.one(ctx, key(kindRun, "big"), func(ctx context.Context) error { return e.createRun(ctx, claimRun("big", claimName, pluginBig)) }); err != nil {
		return err
	}
	hand := barePod("hand", "sleep 3600", true)
	if err := e.createPod(ctx, hand); err != nil {
		return err
	}
	if err := e.runningPod(ctx, "hand"); err != nil {
		return err
	}
	var cats, execs []time.Duration
	var rss int64
	for range pluginPairs {
		start := time.Now()
		cmd := exec.CommandContext(ctx, bin, "cat", "customrun/big", pluginBig, "-n", e.ns)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = sha256.New(), &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl rmat cat: %w: %s", err, stderr.String())
		}
		cats = append(cats, time.Since(start))
		if u, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, u.Maxrss)
		}
		d, err := e.execCat(ctx, "hand", "/data/"+pluginBig)
		if err != nil {
			return err
		}
		execs = append(execs, d)
	}
	r.row("kubectl rmat cat of a 100 MiB reference vs kubectl exec cat from a running pod, interleaved", fmt.Sprint(pluginPairs),
		secs(percentile(cats, 50))+" vs "+secs(percentile(execs, 50)), secs(percentile(cats, 90))+" vs "+secs(percentile(execs, 90)), "-",
		ratio(percentile(cats, 50), percentile(execs, 50))+fmt.Sprintf(" (p50); plugin RSS peak %.0f MiB", float64(rss)/1024), "<= 1.5x, RSS < 64 MiB")

	if err := e.manyTasks(ctx); err != nil {
		return err
	}
	var lss []time.Duration
	for range pluginLs {
		start := time.Now()
		cmd := exec.CommandContext(ctx, bin, "ls", "many", "-n", e.ns)
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl rmat ls: %w", err)
		}
		lss = append(lss, time.Since(start))
		if lines := bytes.Count(out.Bytes(), []byte("\n")); lines != pluginTasks*pluginResults+1 {
			return fmt.Errorf("kubectl rmat ls printed %d lines, want %d results and a header", lines, pluginTasks*pluginResults)
		}
	}
	r.row(fmt.Sprintf("kubectl rmat ls of a PipelineRun of %d tasks of %d results", pluginTasks, pluginResults), fmt.Sprint(pluginLs),
		ms(percentile(lss, 50)), ms(percentile(lss, 90)), "-", "-", "< 1 s")
	return nil
}

// runningPod waits until the pod runs.
func (e *env) runningPod(ctx context.Context, name string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		pod, err := e.kube.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && pod.Status.Phase == corev1.PodRunning {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("pod %s did not run in 2m", name)
}

// execCat times kubectl exec POD -- cat FILE, a process of its own as
// the plugin is, its output hashed; without kubectl on the PATH, the same
// pods/exec over WebSocket from this process.
func (e *env) execCat(ctx context.Context, pod, file string) (time.Duration, error) {
	start := time.Now()
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		cmd := exec.CommandContext(ctx, kubectl, "exec", "-n", e.ns, pod, "--", "cat", file)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = sha256.New(), &stderr
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("kubectl exec: %w: %s", err, stderr.String())
		}
		return time.Since(start), nil
	}
	req := e.kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(e.ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"cat", file}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewWebSocketExecutor(e.rest, "GET", req.URL().String())
	if err != nil {
		return 0, err
	}
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: sha256.New(), Stderr: io.Discard}); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// manyTasks makes PipelineRun many (held pending, so it runs nothing) and
// its ResultMaterialize tasks: one ConfigMap of 20 keys read by 10 runs.
func (e *env) manyTasks(ctx context.Context) error {
	data := map[string]string{}
	var results []string
	for i := range pluginResults {
		k := fmt.Sprintf("r%02d", i)
		data[k], results = fmt.Sprintf("value-%d", i), append(results, k)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "many"}, Data: data}
	if _, err := e.kube.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return err
	}
	pr := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "many"}, Spec: v1.PipelineRunSpec{
		Status: v1.PipelineRunSpecStatusPending,
		PipelineSpec: &v1.PipelineSpec{Tasks: []v1.PipelineTask{{Name: "t", TaskSpec: &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{
			Steps: []v1.Step{{Name: "never", Image: "busybox", Script: "true"}},
		}}}}},
	}}
	if _, err := e.tekton.TektonV1().PipelineRuns(e.ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		return err
	}
	var keys []string
	for i := range pluginTasks {
		name := fmt.Sprintf("many-t%d", i)
		run := &v1beta1.CustomRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tekton.dev/pipelineRun": "many", "tekton.dev/pipelineTask": fmt.Sprintf("t%d", i)}},
			Spec: v1beta1.CustomRunSpec{
				CustomRef:  &v1beta1.TaskRef{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ResultMaterialize"},
				Params:     v1beta1.Params{{Name: "results", Value: v1beta1.ParamValue{Type: v1beta1.ParamTypeArray, ArrayVal: results}}},
				Workspaces: []v1beta1.WorkspaceBinding{{Name: "outputs", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "many"}}}},
			},
		}
		if err := e.createRun(ctx, run); err != nil {
			return err
		}
		keys = append(keys, key(kindRun, name))
	}
	if missing := e.waitAll(ctx, keys, 2*time.Minute); len(missing) > 0 {
		return fmt.Errorf("%d runs of PipelineRun many not done after 2m", len(missing))
	}
	return nil
}

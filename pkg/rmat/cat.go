package rmat

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"knative.dev/pkg/kmeta"
)

// ErrMismatch says the bytes written do not have the digest the run
// published: the file changed after it was materialized.
var ErrMismatch = errors.New("the bytes do not have the sha256 the run published")

// Fetch is what reading a result left in a volume needs.
type Fetch struct {
	// REST is the client config pods/exec streams over.
	REST *rest.Config
	// ControllerNamespace holds config-materialize and the controller.
	ControllerNamespace string
	// ReaderImage overrides the reader image the controller uses.
	ReaderImage string
	// Hold bounds how long the plugin's reader pod lives.
	Hold time.Duration
}

// Find is the entry of result "TASK.RESULT" (or "RESULT" of a run's only
// task) among a run's entries.
func Find(entries []Entry, name string) (Entry, error) {
	task, result, qualified := strings.Cut(name, ".")
	if !qualified {
		task, result = "", name
	}
	var found []Entry
	for _, e := range entries {
		if e.Result == result && (task == "" || e.Task == task) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Entry{}, fmt.Errorf("no materialized result %q: kubectl rmat ls lists them as TASK.RESULT", name)
	default:
		return Entry{}, fmt.Errorf("result %q is in %d tasks: name it as TASK.RESULT", name, len(found))
	}
}

// Cat writes the result's bytes to w while hashing them, and returns
// ErrMismatch (after writing) when their digest is not the run's: from the
// run's status for an inline value, through the API for a ConfigMap, and
// through a reader pod for a claim. A value whose run published no digest
// (a default) is written as it is.
func Cat(ctx context.Context, c Clients, f Fetch, run *v1beta1.CustomRun, e Entry, w io.Writer) error {
	r := newReader(c, f)
	defer r.close(ctx)
	return r.write(ctx, run, e, w)
}

// reader writes results, keeping one reader pod per run for the files of
// that run's claim; close deletes them.
type reader struct {
	c    Clients
	f    Fetch
	pods map[string]volumePod
}

// volumePod is a reader pod on a run's binding.
type volumePod struct {
	namespace, name string
	binding         v1beta1.WorkspaceBinding
}

func newReader(c Clients, f Fetch) *reader {
	return &reader{c: c, f: f, pods: map[string]volumePod{}}
}

func (r *reader) write(ctx context.Context, run *v1beta1.CustomRun, e Entry, w io.Writer) error {
	h := sha256.New()
	out := io.MultiWriter(w, h)
	var err error
	switch kind, _, _ := strings.Cut(e.Location, "/"); {
	case e.Location == "status":
		err = inline(run, e, out)
	case kind == "configmap":
		err = configMapValue(ctx, r.c, run.Namespace, e, out)
	case kind == "persistentvolumeclaim" || kind == "csi":
		err = r.fromVolume(ctx, run, e, out)
	default:
		err = fmt.Errorf("result %s.%s lives in %s, which kubectl rmat cannot read", e.Task, e.Result, e.Location)
	}
	if err != nil {
		return err
	}
	return check(h, e)
}

// close deletes the reader pods, even when ctx was cancelled.
func (r *reader) close(ctx context.Context) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for run, p := range r.pods {
		_ = r.c.Kube.CoreV1().Pods(p.namespace).Delete(bg, p.name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		delete(r.pods, run)
	}
}

func check(h hash.Hash, e Entry) error {
	if got := hex.EncodeToString(h.Sum(nil)); e.SHA256 != "" && got != e.SHA256 {
		return fmt.Errorf("%w: %s.%s has sha256 %s, the run published %s", ErrMismatch, e.Task, e.Result, got, e.SHA256)
	}
	return nil
}

// inline writes the file's bytes as the status holds them: the value, or
// its base64 decoding, or the value with the newline trimNewline dropped,
// whichever has the published digest; else the value, which then fails
// the check.
func inline(run *v1beta1.CustomRun, e Entry, w io.Writer) error {
	var value string
	found := false
	for _, r := range run.Status.Results {
		if r.Name == e.Result {
			value, found = r.Value, true
		}
	}
	if !found {
		return fmt.Errorf("customrun %q has no result %q in its status", run.Name, e.Result)
	}
	candidates := []string{value, value + "\n", value + "\r\n"}
	if decoded, err := base64.StdEncoding.DecodeString(value); err == nil {
		candidates = append(candidates, string(decoded))
	}
	for _, b := range candidates {
		if sum := sha256.Sum256([]byte(b)); hex.EncodeToString(sum[:]) == e.SHA256 {
			value = b
			break
		}
	}
	_, err := io.WriteString(w, value)
	return err
}

func configMapValue(ctx context.Context, c Clients, ns string, e Entry, w io.Writer) error {
	name, key, _ := strings.Cut(strings.TrimPrefix(e.Location, "configmap/"), ":")
	cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return named(err, "configmap", name, ns)
	}
	if v, ok := cm.Data[key]; ok {
		_, err = io.WriteString(w, v)
		return err
	}
	if v, ok := cm.BinaryData[key]; ok {
		_, err = w.Write(v)
		return err
	}
	return fmt.Errorf("configmap %q in namespace %q has no key %q any more", name, ns, key)
}

// fromVolume reads the file through a reader pod like the controller's on
// the run's binding, made on the run's first such file and kept for the
// rest; it waits for the pod to run and streams the file out of it
// through pods/exec.
func (r *reader) fromVolume(ctx context.Context, run *v1beta1.CustomRun, e Entry, w io.Writer) error {
	if e.Exists == "gone" {
		return fmt.Errorf("result %s.%s was in %s, which no longer exists", e.Task, e.Result, e.Location)
	}
	p, ok := r.pods[run.Name]
	if !ok {
		var err error
		if p, err = r.startPod(ctx, run); err != nil {
			return err
		}
	}
	_, file, _ := strings.Cut(e.Location, ":")
	rel := strings.TrimPrefix(strings.TrimPrefix(file, p.binding.SubPath), "/")
	return execCat(ctx, r.c, r.f.REST, run.Namespace, p.name, rel, w)
}

// startPod makes the run's reader pod, records it for close before
// anything can fail, and waits for it to run.
func (r *reader) startPod(ctx context.Context, run *v1beta1.CustomRun) (volumePod, error) {
	var ef v1alpha1.ExtraFields
	if err := run.Status.DecodeExtraFields(&ef); err != nil {
		return volumePod{}, err
	}
	binding, err := workspace.Select(run, boundName(run, ef))
	if err != nil {
		return volumePod{}, fmt.Errorf("customrun %q: %w", run.Name, err)
	}
	cfg, err := readerConfig(ctx, r.c, r.f)
	if err != nil {
		return volumePod{}, err
	}
	name := kmeta.ChildName(run.Name, "-rmat-"+rand.String(5))
	pod, err := workspace.FetchPod(run, binding, cfg, name, r.f.Hold, workspace.Placement{})
	if err != nil {
		return volumePod{}, err
	}
	if _, err := r.c.Kube.CoreV1().Pods(run.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return volumePod{}, fmt.Errorf("creating reader pod %q in namespace %q: %w", name, run.Namespace, err)
	}
	p := volumePod{namespace: run.Namespace, name: name, binding: binding}
	r.pods[run.Name] = p
	return p, running(ctx, r.c, run.Namespace, name)
}

// running waits until the pod's container runs, or says why it cannot.
func running(ctx context.Context, c Clients, ns, name string) error {
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pod, err := c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = pod
		if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
			return false, fmt.Errorf("reader pod %q ended (%s) before it was read: %s", name, pod.Status.Phase, pod.Status.Message)
		}
		return pod.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil && last != nil && last.Status.Phase == corev1.PodPending {
		for _, cond := range last.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Message != "" {
				return fmt.Errorf("reader pod %q is still Pending: %s", name, cond.Message)
			}
		}
	}
	return err
}

// execCat runs the reader in the pod to write the file to w, over
// WebSocket or, from an older API server, SPDY, as kubectl exec does.
func execCat(ctx context.Context, c Clients, cfg *rest.Config, ns, pod, path string, w io.Writer) error {
	req := c.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "reader", Command: []string{"/ko-app/reader", "-root=" + workspace.MountPath, "-cat=" + path}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	var stderr strings.Builder
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: w, Stderr: &stderr}); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("reading %q in reader pod %q: %s", path, pod, msg)
		}
		return fmt.Errorf("reading %q in reader pod %q: %w", path, pod, err)
	}
	return nil
}

// readerConfig is the controller's reader settings: config-materialize,
// and the reader image from the flag, that ConfigMap or the controller's
// environment, in that order.
func readerConfig(ctx context.Context, c Clients, f Fetch) (*config.Config, error) {
	cfg := config.Default()
	cm, err := c.Kube.CoreV1().ConfigMaps(f.ControllerNamespace).Get(ctx, config.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		if cfg, err = config.FromConfigMap(cm); err != nil {
			return nil, fmt.Errorf("configmap %s/%s: %w", f.ControllerNamespace, config.Name, err)
		}
	case !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
		return nil, named(err, "configmap", config.Name, f.ControllerNamespace)
	}
	if f.ReaderImage != "" {
		cfg.ReaderImage = f.ReaderImage
	}
	if cfg.ReaderImage == "" {
		deploy, err := c.Kube.AppsV1().Deployments(f.ControllerNamespace).Get(ctx, "resultmaterialize-controller", metav1.GetOptions{})
		if err == nil {
			for _, env := range deploy.Spec.Template.Spec.Containers[0].Env {
				if env.Name == config.ReaderImageEnv {
					cfg.ReaderImage = env.Value
				}
			}
		}
	}
	if cfg.ReaderImage == "" {
		return nil, fmt.Errorf("no reader image: pass --reader-image, or let the plugin read configmap %s/%s or the controller's deployment", f.ControllerNamespace, config.Name)
	}
	return cfg, nil
}

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
	"path"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	// Warn takes what the user should know but that does not stop the
	// read (a pod left behind, settings not read); nil drops it.
	Warn io.Writer
}

func (f Fetch) warn(format string, args ...any) {
	if f.Warn != nil {
		_, _ = fmt.Fprintf(f.Warn, "warning: "+format+"\n", args...)
	}
}

// Find is the entry of result "TASK.RESULT", or "RESULT" of the one task
// that has it (a result name may hold dots itself).
func Find(entries []Entry, name string) (Entry, error) {
	var found []Entry
	for _, e := range entries {
		if e.Result != "-" && (e.Task+"."+e.Result == name || e.Result == name) {
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
	// cfg is the controller's reader settings, read at the first pod.
	cfg *config.Config
}

// volumePod is a reader pod on a run's binding.
type volumePod struct {
	namespace, name string
	binding         v1beta1.WorkspaceBinding
	// unsure says its create got no answer: it may land after close's
	// first delete.
	unsure bool
	// uid is the pod the create made: a pod of the same name made by
	// anyone else is neither waited for nor deleted.
	uid types.UID
}

func newReader(c Clients, f Fetch) *reader {
	return &reader{c: c, f: f, pods: map[string]volumePod{}}
}

func (r *reader) write(ctx context.Context, run *v1beta1.CustomRun, e Entry, w io.Writer) error {
	if e.Location == "status" {
		value, ok, err := inline(run, e)
		switch {
		case err != nil:
			return err
		case ok:
			_, err = w.Write(value)
			return err
		case e.SHA256 == "":
			r.f.warn("%s.%s is a default, which has no digest: not verified", e.Task, e.Result)
			_, err = w.Write(value)
			return err
		case e.projected || !readable(e.workspace.kind):
			// A projected value's file is another document; a value with
			// no readable file has nothing else to be checked against.
			if _, err := w.Write(value); err != nil {
				return err
			}
			return fmt.Errorf("%w: %s.%s in the run's status does not have the sha256 %s", ErrMismatch, e.Task, e.Result, e.SHA256)
		}
		// The status holds the value in another form than the file (an
		// array's JSON): the file in the workspace is read instead.
	}
	h := sha256.New()
	out := io.MultiWriter(w, h)
	var err error
	switch kind := e.workspace.kind; {
	case e.uri != "":
		err = r.c.Registry.copyLayer(ctx, e.uri, e.fileSHA256, out)
	case !readable(kind):
		err = fmt.Errorf("result %s.%s lives in %s, which kubectl rmat cannot read", e.Task, e.Result, e.workspace.String())
	case kind == "configmap":
		err = configMapValue(ctx, r.c, run.Namespace, e.workspace, out)
	default:
		err = r.fromVolume(ctx, run, e, out)
	}
	if err != nil {
		return err
	}
	return check(h, e.Task+"."+e.Result, e.fileSHA256)
}

// readable says whether cat can read a workspace of the kind.
func readable(kind string) bool {
	return kind == "configmap" || kind == "persistentvolumeclaim" || kind == "csi"
}

// close deletes the reader pods, even when ctx was cancelled. A pod whose
// create got no answer is looked for again for unsureWait: a create that
// lands late is deleted too.
func (r *reader) close(ctx context.Context) {
	for run, p := range r.pods {
		r.closeOne(ctx, p)
		delete(r.pods, run)
	}
}

// closeOne deletes one reader pod within 10 s of its own (and unsureWait
// for a pod whose create got no answer), even when ctx was cancelled.
func (r *reader) closeOne(ctx context.Context, p volumePod) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second+unsureWait)
	defer cancel()
	// A pod created late has a UID close never learnt: only then is it
	// deleted by name alone.
	opts := metav1.DeleteOptions{}
	if p.uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &p.uid}
	}
	err := r.c.Kube.CoreV1().Pods(p.namespace).Delete(bg, p.name, opts)
	for waited := time.Duration(0); p.unsure && apierrors.IsNotFound(err) && waited < unsureWait; waited += unsureStep {
		time.Sleep(unsureStep)
		err = r.c.Kube.CoreV1().Pods(p.namespace).Delete(bg, p.name, opts)
	}
	if apierrors.IsConflict(err) {
		err = nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		r.f.warn("reader pod %q in namespace %q was not deleted (%v): delete it, or it ends by itself within --pod-timeout", p.name, p.namespace, err)
	}
}

// How long, and how often, close looks for a pod whose create got no
// answer.
var unsureWait, unsureStep = 5 * time.Second, 500 * time.Millisecond

func check(h hash.Hash, name, want string) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: %s has sha256 %s, the run published %s", ErrMismatch, name, got, want)
	}
	return nil
}

// inline is the file's bytes as the status holds them: the value, its
// base64 decoding, or the value with the newline trimNewline dropped,
// whichever has the published digest; ok is false when none has it.
func inline(run *v1beta1.CustomRun, e Entry) ([]byte, bool, error) {
	var value string
	found := false
	for _, r := range run.Status.Results {
		if r.Name == e.Result {
			value, found = r.Value, true
		}
	}
	if !found {
		return nil, false, fmt.Errorf("customrun %q has no result %q in its status", run.Name, e.Result)
	}
	candidates := []string{value, value + "\n", value + "\r\n"}
	if decoded, err := base64.StdEncoding.DecodeString(value); err == nil {
		candidates = append(candidates, string(decoded))
	}
	for _, b := range candidates {
		if sum := sha256.Sum256([]byte(b)); hex.EncodeToString(sum[:]) == e.SHA256 {
			return []byte(b), true, nil
		}
	}
	return []byte(value), false, nil
}

// configMapValue writes the ConfigMap key the path is mounted from: the
// path itself, or the key its items map to that path, as the controller
// reads a ConfigMap.
func configMapValue(ctx context.Context, c Clients, ns string, p place, w io.Writer) error {
	ref := p.binding.ConfigMap
	key := p.path
	if len(ref.Items) > 0 {
		key = ""
		for _, item := range ref.Items {
			if path.Clean(item.Path) == p.path {
				key = item.Key
			}
		}
	}
	cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return named(err, "configmap", ref.Name, ns)
	}
	if v, ok := cm.Data[key]; ok && key != "" {
		_, err = io.WriteString(w, v)
		return err
	}
	if v, ok := cm.BinaryData[key]; ok && key != "" {
		_, err = w.Write(v)
		return err
	}
	return fmt.Errorf("configmap %q in namespace %q no longer holds %q", ref.Name, ns, p.path)
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
		if p, err = r.startPod(ctx, run, e.workspace.binding); err != nil {
			return err
		}
	}
	return execCat(ctx, r.c, r.f.REST, p.namespace, p.name, e.workspace.file, w)
}

// startPod makes the run's reader pod beside the volume, records it for
// close before it is created, and waits for it to run.
func (r *reader) startPod(ctx context.Context, run *v1beta1.CustomRun, binding v1beta1.WorkspaceBinding) (volumePod, error) {
	if r.cfg == nil {
		cfg, err := readerConfig(ctx, r.c, r.f)
		if err != nil {
			return volumePod{}, err
		}
		r.cfg = cfg
	}
	cfg := r.cfg
	place, err := workspace.Beside(ctx, r.c.Kube, run, binding)
	if err != nil {
		return volumePod{}, err
	}
	name := kmeta.ChildName(run.Name, "-rmat-"+rand.String(5))
	pod, err := workspace.FetchPod(run, binding, cfg, name, r.f.Hold, place)
	if err != nil {
		return volumePod{}, err
	}
	// The name is this read's alone: close deletes it even when the
	// create's answer was lost.
	p := volumePod{namespace: run.Namespace, name: name, binding: binding}
	created, err := r.c.Kube.CoreV1().Pods(run.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) {
			p.unsure = true
			r.pods[run.Name] = p
		}
		return volumePod{}, fmt.Errorf("creating reader pod %q in namespace %q: %w", name, run.Namespace, err)
	}
	p.uid = created.UID
	r.pods[run.Name] = p
	return p, running(ctx, r.c, p, cfg.ReaderStartTimeout)
}

// running waits until the pod's container runs, or says why it does not.
func running(ctx context.Context, c Clients, p volumePod, timeout time.Duration) error {
	ns, name := p.namespace, p.name
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pod, err := c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if pod.UID != p.uid {
			return false, fmt.Errorf("reader pod %q in namespace %q was replaced by another pod of that name", name, ns)
		}
		last = pod
		if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
			return false, fmt.Errorf("reader pod %q ended (%s) before it was read: %s", name, pod.Status.Phase, pod.Status.Message)
		}
		return pod.Status.Phase == corev1.PodRunning, nil
	})
	if err == nil || last == nil || last.Status.Phase != corev1.PodPending {
		return err
	}
	why := []string{}
	for _, cs := range last.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			why = append(why, w.Reason+": "+w.Message)
		}
	}
	for _, cond := range last.Status.Conditions {
		if cond.Status != corev1.ConditionTrue && cond.Message != "" {
			why = append(why, cond.Message)
		}
	}
	return fmt.Errorf("reader pod %q in namespace %q did not run within %s (%s; kubectl describe pod says more): %w", name, ns, timeout, strings.Join(why, "; "), err)
}

// execCat runs the reader in the pod to write the file to w, over
// WebSocket (Kubernetes 1.30 and later serve pods/exec over it). The
// reader is the pod's first process, whatever the image names its binary.
func execCat(ctx context.Context, c Clients, cfg *rest.Config, ns, pod, path string, w io.Writer) error {
	req := c.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "reader", Command: []string{"/proc/1/exe", "-root=" + workspace.MountPath, "-cat=" + path}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	// client-go drops an error of the stdout writer and reads on; the
	// first one is kept here and ends the stream.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &stopWriter{w: w, cancel: cancel}
	var stderr strings.Builder
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: out, Stderr: &stderr})
	if out.err != nil {
		return fmt.Errorf("writing %q: %w", path, out.err)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("reading %q in reader pod %q: %s", path, pod, msg)
		}
		return fmt.Errorf("reading %q in reader pod %q: %w", path, pod, err)
	}
	return nil
}

// stopWriter keeps the first error of w and cancels the stream on it.
type stopWriter struct {
	w      io.Writer
	cancel context.CancelFunc
	err    error
}

func (s *stopWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
		s.cancel()
	}
	return n, err
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
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
		f.warn("configmap %s/%s could not be read (%v): the reader pod takes the default UID and resources", f.ControllerNamespace, config.Name, err)
	default:
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

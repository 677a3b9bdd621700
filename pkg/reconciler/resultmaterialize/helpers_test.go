package resultmaterialize

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	fakerminformer "github.com/resultmaterialize/controller/pkg/client/injection/informers/resultmaterialize/v1alpha1/resultmaterialize/fake"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/metrics"
	"github.com/resultmaterialize/controller/pkg/workspace"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	ttesting "github.com/tektoncd/pipeline/pkg/reconciler/testing"
	"github.com/tektoncd/pipeline/test"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
	fakefilteredpodinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered/fake"
	filteredinformerfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"

	_ "knative.dev/pkg/system/testing"
)

const ns = "ns"

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// env is one controller on fake clients.
type env struct {
	ctx     context.Context
	impl    *controller.Impl
	clients test.Clients
	clock   *clocktesting.FakePassiveClock
	runs    cache.Indexer
	store   *config.Store
	metrics *sdkmetric.ManualReader
	memory  *workspace.Memory
}

// testProjectionTime bounds a run's ConfigMap projections in tests, so
// the test of a projection that outlives it takes no longer.
const testProjectionTime = 2 * time.Second

func materializeConfig(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: config.Name, Namespace: system.Namespace()}, Data: data}
}

func newEnv(t *testing.T, d test.Data, objs []*v1alpha1.ResultMaterialize, cfg map[string]string) *env {
	t.Helper()
	return newEnvWithLogs(t, d, objs, cfg, nil)
}

func newEnvWithLogs(t *testing.T, d test.Data, objs []*v1alpha1.ResultMaterialize, cfg map[string]string,
	logs func(context.Context, *corev1.Pod, int64) (io.ReadCloser, error)) *env {
	t.Helper()
	return newEnvWithDeps(t, d, objs, cfg, deps{logs: logs})
}

// newEnvWithDeps is newEnv with the given log readers and follow limit;
// the rest of the dependencies are the tests' own.
func newEnvWithDeps(t *testing.T, d test.Data, objs []*v1alpha1.ResultMaterialize, cfg map[string]string, given deps) *env {
	t.Helper()
	ctx, _ := ttesting.SetupFakeContext(t)
	// Tekton's test data seeds pods into its own filtered informer; the
	// controller's selects reader pods only.
	ctx = filteredinformerfactory.WithSelectors(ctx, pipelinev1.ManagedByLabelKey, workspace.PodSelector)
	ctx, _ = injection.Fake.SetupInformers(ctx, &rest.Config{})
	clients, informers := test.SeedTestData(t, ctx, d)
	for _, p := range d.Pods {
		if p.Labels[workspace.ManagedByLabel] != workspace.ManagedByValue {
			continue
		}
		if err := fakefilteredpodinformer.Get(ctx, workspace.PodSelector).Informer().GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objs {
		if err := fakerminformer.Get(ctx).Informer().GetIndexer().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	clk := clocktesting.NewFakePassiveClock(epoch)
	cmw := configmap.NewStaticWatcher(materializeConfig(cfg))
	store := config.NewStore(ttesting.TestLogger(t))
	reader := sdkmetric.NewManualReader()
	rec, err := metrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	memory := workspace.NewMemory(workspace.DefaultMemory)
	impl := newController(ctx, cmw, deps{clock: clk, store: store, logs: given.logs, follow: given.follow, follows: given.follows,
		metrics: rec, memory: memory, projectionTime: testProjectionTime})
	if la, ok := impl.Reconciler.(pkgreconciler.LeaderAware); ok {
		if err := la.Promote(pkgreconciler.UniversalBucket(), func(pkgreconciler.Bucket, types.NamespacedName) {}); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{ctx: ctx, impl: impl, clients: clients, clock: clk, store: store, metrics: reader, memory: memory,
		runs: informers.CustomRun.Informer().GetIndexer()}
	// Seeding the test data wrote through the fake clients; the writes a
	// test states are the controller's only.
	e.clearActions()
	return e
}

// reconcile runs one reconcile of the named run and returns it as stored.
func (e *env) reconcile(t *testing.T, name string) (*v1beta1.CustomRun, error) {
	t.Helper()
	err := e.impl.Reconciler.Reconcile(e.ctx, ns+"/"+name)
	run, gerr := e.clients.Pipeline.TektonV1beta1().CustomRuns(ns).Get(e.ctx, name, metav1.GetOptions{})
	if gerr != nil {
		t.Fatalf("getting CustomRun %s: %v", name, gerr)
	}
	// Feed the update back to the informer, as the API server would.
	if ierr := e.runs.Update(run); ierr != nil {
		t.Fatal(ierr)
	}
	return run, err
}

func events(ctx context.Context) []string {
	rec := controller.GetEventRecorder(ctx).(*record.FakeRecorder)
	var out []string
	for {
		select {
		case ev := <-rec.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

type runOpt func(*v1beta1.CustomRun)

func newRun(name string, opts ...runOpt) *v1beta1.CustomRun {
	run := &v1beta1.CustomRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1beta1.CustomRunSpec{
			CustomRef: &v1beta1.TaskRef{APIVersion: APIVersion, Kind: "ResultMaterialize"},
		},
	}
	for _, o := range opts {
		o(run)
	}
	return run
}

func withParam(name string, value ...string) runOpt {
	return func(r *v1beta1.CustomRun) {
		v := *v1beta1.NewStructuredValues(value[0], value[1:]...)
		if name == v1alpha1.ParamResults {
			v = v1beta1.ParamValue{Type: v1beta1.ParamTypeArray, ArrayVal: value}
		}
		r.Spec.Params = append(r.Spec.Params, v1beta1.Param{Name: name, Value: v})
	}
}

func withConfigMapWorkspace(wsName, cmName string) runOpt {
	return func(r *v1beta1.CustomRun) {
		r.Spec.Workspaces = append(r.Spec.Workspaces, v1beta1.WorkspaceBinding{Name: wsName,
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cmName}}})
	}
}

func withWorkspace(b v1beta1.WorkspaceBinding) runOpt {
	return func(r *v1beta1.CustomRun) { r.Spec.Workspaces = append(r.Spec.Workspaces, b) }
}

func withRef(name string) runOpt {
	return func(r *v1beta1.CustomRun) { r.Spec.CustomRef.Name = name }
}

func withEmbedded(spec string) runOpt {
	return func(r *v1beta1.CustomRun) {
		r.Spec.CustomRef = nil
		r.Spec.CustomSpec = &v1beta1.EmbeddedCustomRunSpec{
			TypeMeta: runtime.TypeMeta{APIVersion: APIVersion, Kind: "ResultMaterialize"},
			Spec:     runtime.RawExtension{Raw: []byte(spec)},
		}
	}
}

func withTimeout(d time.Duration) runOpt {
	return func(r *v1beta1.CustomRun) { r.Spec.Timeout = &metav1.Duration{Duration: d} }
}

func withRetries(n int) runOpt {
	return func(r *v1beta1.CustomRun) { r.Spec.Retries = n }
}

func withStarted(at time.Time) runOpt {
	return func(r *v1beta1.CustomRun) {
		r.Status.StartTime = &metav1.Time{Time: at}
		r.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running"})
	}
}

func withCancelled() runOpt {
	return func(r *v1beta1.CustomRun) {
		r.Spec.Status = v1beta1.CustomRunSpecStatusCancelled
		r.Spec.StatusMessage = v1beta1.CustomRunCancelledByPipelineMsg
	}
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
}

func results(run *v1beta1.CustomRun) map[string]string {
	out := map[string]string{}
	for _, r := range run.Status.Results {
		out[r.Name] = r.Value
	}
	return out
}

func condition(run *v1beta1.CustomRun) *apis.Condition {
	return run.Status.GetCondition(apis.ConditionSucceeded)
}

func extraFields(t *testing.T, run *v1beta1.CustomRun) v1alpha1.ExtraFields {
	t.Helper()
	var ef v1alpha1.ExtraFields
	if err := json.Unmarshal(run.Status.ExtraFields.Raw, &ef); err != nil {
		t.Fatalf("decoding extraFields %q: %v", run.Status.ExtraFields.Raw, err)
	}
	return ef
}

// syncPods makes the reader pod informer show what the API server holds,
// as the informer would once it saw the deletes a reconcile made.
func (e *env) syncPods(t *testing.T) {
	t.Helper()
	indexer := fakefilteredpodinformer.Get(e.ctx, workspace.PodSelector).Informer().GetIndexer()
	for _, obj := range indexer.List() {
		pod := obj.(*corev1.Pod)
		if _, err := e.clients.Kube.CoreV1().Pods(pod.Namespace).Get(e.ctx, pod.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			if err := indexer.Delete(pod); err != nil {
				t.Fatal(err)
			}
		}
	}
}

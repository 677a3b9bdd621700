package resultmaterialize

import (
	"context"
	"io"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	rmclient "github.com/resultmaterialize/controller/pkg/client/injection/client"
	rminformer "github.com/resultmaterialize/controller/pkg/client/injection/informers/resultmaterialize/v1alpha1/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/metrics"
	"github.com/resultmaterialize/controller/pkg/version"
	"github.com/resultmaterialize/controller/pkg/workspace"
	pipelineclient "github.com/tektoncd/pipeline/pkg/client/injection/client"
	customruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1beta1/customrun"
	customrunreconciler "github.com/tektoncd/pipeline/pkg/client/injection/reconciler/pipeline/v1beta1/customrun"
	tektoncontroller "github.com/tektoncd/pipeline/pkg/controller"
	"go.opentelemetry.io/otel"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	filteredpodinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/system"
)

// ControllerName names the controller in logs, leader election and events.
const ControllerName = "resultmaterialize-controller"

// APIVersion is what a CustomRun's customRef or customSpec names.
var APIVersion = v1alpha1.SchemeGroupVersion.String()

// NewController returns the constructor sharedmain runs: it wires the
// reconciler to its informers and config store. The clock is a parameter
// so tests can move time; memory is the bytes the controller's own reads
// and projections may hold at once.
func NewController(clk clock.PassiveClock, memory int64) func(context.Context, configmap.Watcher) *controller.Impl {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		logger := logging.FromContext(ctx)
		logger.Infow("Starting the ResultMaterialize controller", "version", version.Version)
		rec, err := metrics.New(otel.GetMeterProvider())
		if err != nil {
			logger.Fatalw("Creating metrics", zap.Error(err))
		}
		store := config.NewStore(logger.Named("config-store"))
		logger.Infow("Controller memory budget for reads and projections", "bytes", memory)
		return newController(withEventRecorder(ctx), cmw, deps{clock: clk, store: store, metrics: rec, memory: workspace.NewMemory(memory), follows: workspace.MaxFollows})
	}
}

// deps are what tests replace.
type deps struct {
	clock   clock.PassiveClock
	store   *config.Store
	metrics *metrics.Recorder
	memory  *workspace.Memory
	// projectionTime bounds a run's ConfigMap projections; zero means
	// workspace.ProjectionTime.
	projectionTime time.Duration
	// logs reads reader pod logs; nil means pods/log.
	logs func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// follow follows reader pod logs; nil means pods/log.
	follow func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// follows is how many reader logs may be followed at once.
	follows int
}

func newController(ctx context.Context, cmw configmap.Watcher, d deps) *controller.Impl {
	clk, store := d.clock, d.store
	logger := logging.FromContext(ctx)
	kube := kubeclient.Get(ctx)
	customRunInformer := customruninformer.Get(ctx)
	watchConfig(cmw, store)

	podInformer := filteredpodinformer.Get(ctx, workspace.PodSelector)
	// A followed reader log wakes its run through the queue made below.
	var impl *controller.Impl
	r := &Reconciler{
		Clock: clk,
		Sources: workspace.NewSources(workspace.Deps{
			Kube: kube, Pods: podInformer.Lister(), Clock: clk,
			Memory: d.memory, ProjectionTime: d.projectionTime, Logs: d.logs, Follow: d.follow, Follows: d.follows,
			Wake: func(key types.NamespacedName) { impl.EnqueueKey(key) },
		}),
		Metrics:  d.metrics,
		kube:     kube,
		lister:   rminformer.Get(ctx).Lister(),
		objects:  rmclient.Get(ctx),
		pipeline: pipelineclient.Get(ctx),
	}
	impl = customrunreconciler.NewImpl(ctx, r, func(*controller.Impl) controller.Options {
		// The reconciler writes status itself (writeStatus): the generated
		// update retries a conflict by writing over the newer copy.
		return controller.Options{AgentName: ControllerName, ConfigStore: store, SkipStatusUpdates: true}
	})

	if _, err := customRunInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: tektoncontroller.FilterCustomRunRef(APIVersion, resultmaterialize.Kind),
		Handler:    controller.HandleAll(impl.Enqueue),
	}); err != nil {
		logger.Fatalw("Registering the CustomRun event handler", "error", err)
	}
	// A reader pod's progress re-enqueues the run that owns it.
	if _, err := podInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: tektoncontroller.FilterOwnerCustomRunRef(customRunInformer.Lister(), APIVersion, resultmaterialize.Kind),
		Handler:    controller.HandleAll(impl.EnqueueControllerOf),
	}); err != nil {
		logger.Fatalw("Registering the reader pod event handler", "error", err)
	}
	return impl
}

// watchConfig registers the store for config-materialize. A missing
// ConfigMap means the defaults, not a crash.
func watchConfig(cmw configmap.Watcher, store *config.Store) {
	if dw, ok := cmw.(configmap.DefaultingWatcher); ok {
		dw.WatchWithDefault(corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: config.Name, Namespace: system.Namespace()},
		}, store.OnConfigChanged)
		return
	}
	cmw.Watch(config.Name, store.OnConfigChanged)
}

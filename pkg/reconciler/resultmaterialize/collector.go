package resultmaterialize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	pipelineclient "github.com/tektoncd/pipeline/pkg/client/injection/client"
	customruninformer "github.com/tektoncd/pipeline/pkg/client/injection/informers/pipeline/v1beta1/customrun"
	listers "github.com/tektoncd/pipeline/pkg/client/listers/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
)

// ArtifactsFinalizer holds a run whose exported artifacts are deleted
// with it (oci-gc: onRunDeletion) until the collector has deleted them.
const ArtifactsFinalizer = "custom.tekton.dev/resultmaterialize-artifacts"

// gcRetry is how soon a failed deletion is tried again.
const gcRetry = 10 * time.Second

// keepForCollection adds ArtifactsFinalizer to a run whose attempt
// exports under oci-gc: onRunDeletion, before anything is pushed: one
// patch per run, guarded by its resourceVersion. The run in hand takes
// the patched copy's version, so its status write does not conflict. A
// patch the API server forbids leaves the run uncollected, said in an
// Event, rather than stopping its export.
func (r *Reconciler) keepForCollection(ctx context.Context, run *v1beta1.CustomRun, plan materialize.Plan) error {
	if plan.Export == nil || config.FromContext(ctx).Retain.GC != resultmaterialize.GCOnRunDeletion || slices.Contains(run.Finalizers, ArtifactsFinalizer) {
		return nil
	}
	patched, err := patchFinalizers(ctx, r.pipeline, run, append(slices.Clone(run.Finalizers), ArtifactsFinalizer))
	if apierrors.IsForbidden(err) {
		// An install whose ClusterRole predates the patch verb: the run
		// still exports, and says its artifacts will stay.
		event(ctx, run, corev1.EventTypeWarning, reasons.ArtifactsUncollected, fmt.Sprintf(
			"oci-gc is onRunDeletion, but the controller may not add finalizer %s (%v): this run's artifacts stay when it is deleted; apply config/200-clusterrole.yaml", ArtifactsFinalizer, err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("adding finalizer %s: %w", ArtifactsFinalizer, err)
	}
	run.ResourceVersion, run.Finalizers = patched.ResourceVersion, patched.Finalizers
	return nil
}

func patchFinalizers(ctx context.Context, client versioned.Interface, run *v1beta1.CustomRun, finalizers []string) (*v1beta1.CustomRun, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": run.ResourceVersion}})
	if err != nil {
		return nil, err
	}
	return client.TektonV1beta1().CustomRuns(run.Namespace).Patch(ctx, run.Name, types.MergePatchType, patch, metav1.PatchOptions{})
}

// collector deletes a deleted run's exported artifacts and lets the run
// go: at once when they are deleted, and after oci-gc-timeout (counted
// from the run's deletion) when the registry keeps failing or refuses.
type collector struct {
	pkgreconciler.LeaderAwareFuncs
	clock    clock.PassiveClock
	store    *config.Store
	lister   listers.CustomRunLister
	pipeline versioned.Interface
	kube     kubernetes.Interface
	events   record.EventRecorder
}

// collecting says a run is deleted and held by ArtifactsFinalizer.
func collecting(obj any) bool {
	run, ok := obj.(*v1beta1.CustomRun)
	return ok && run.DeletionTimestamp != nil && slices.Contains(run.Finalizers, ArtifactsFinalizer)
}

// Reconcile implements controller.Reconciler.
func (c *collector) Reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil || !c.IsLeaderFor(types.NamespacedName{Namespace: ns, Name: name}) {
		return nil
	}
	run, err := c.lister.CustomRuns(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && !collecting(run)) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx = c.store.ToContext(ctx)
	cfg := config.FromContext(ctx)
	uris, failed, skipped := c.deleteAll(ctx, run, cfg)
	rec := c.events
	switch {
	case len(failed) > 0 && c.clock.Since(run.DeletionTimestamp.Time) < cfg.Retain.GCTimeout:
		logging.FromContext(ctx).Warnw("Deleting the run's artifacts failed; trying again", "failed", failed)
		return controller.NewRequeueAfter(gcRetry)
	case len(failed)+len(skipped) > 0:
		rec.Eventf(run, corev1.EventTypeWarning, reasons.ArtifactsNotDeleted.String(), "artifacts not deleted (failing past %s, %s, or not this run's), let go: %s", cfg.Retain.GCTimeout, config.KeyOCIGCTimeout, strings.Join(append(failed, skipped...), "; "))
	case len(uris) > 0:
		rec.Eventf(run, corev1.EventTypeNormal, reasons.ArtifactsDeleted.String(), "deleted %d artifacts: %s", len(uris), strings.Join(uris, ", "))
	}
	_, err = patchFinalizers(ctx, c.pipeline, run, slices.DeleteFunc(slices.Clone(run.Finalizers), func(f string) bool { return f == ArtifactsFinalizer }))
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// deleteAll deletes every artifact the run's status names, and returns
// them with the failures (a manifest already gone counts as deleted).
func (c *collector) deleteAll(ctx context.Context, run *v1beta1.CustomRun, cfg *config.Config) (uris, failed, skipped []string) {
	ef := recorded(run)
	var creds artifact.Credentials
	for _, row := range ef.Results {
		if row.URI == "" {
			continue
		}
		uris = append(uris, row.URI)
		if creds == nil {
			var err error
			if creds, err = registryCredentials(ctx, c.kube); err != nil {
				return uris, []string{err.Error()}, nil
			}
		}
		repoName, _ := resultmaterialize.SplitURI(row.URI)
		err := deleteOne(ctx, row.URI, cfg.Retain.Insecure, creds, repoName, artifact.Owner{Namespace: run.Namespace, Run: run.Name, UID: string(run.UID)})
		switch {
		case errors.Is(err, artifact.ErrUnverified):
			// Not this run's artifact, or not ours: never deleted, and
			// trying again would not change that.
			skipped = append(skipped, fmt.Sprintf("%s: %v", row.URI, err))
		case err != nil:
			failed = append(failed, fmt.Sprintf("%s: %v", row.URI, err))
		}
	}
	return uris, failed, skipped
}

func deleteOne(ctx context.Context, uri string, insecure bool, creds artifact.Credentials, repoName string, owner artifact.Owner) error {
	repo, err := artifact.Repository(protocol.ExportTarget{Repository: repoName, Insecure: insecure})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	return artifact.Delete(ctx, uri, insecure, creds.For(repo), owner)
}

// NewCollector returns the constructor sharedmain runs beside
// NewController: the collector of deleted runs' artifacts, leader-elected
// by bucket like the reconciler, woken by runs that are deleted while
// ArtifactsFinalizer holds them.
func NewCollector(clk clock.PassiveClock) func(context.Context, configmap.Watcher) *controller.Impl {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		logger := logging.FromContext(ctx)
		store := config.NewStore(logger.Named("config-store"))
		watchConfig(cmw, store)
		informer := customruninformer.Get(ctx)
		c := &collector{clock: clk, store: store, lister: informer.Lister(), pipeline: pipelineclient.Get(ctx), kube: kubeclient.Get(ctx),
			events: controller.GetEventRecorder(withEventRecorder(ctx))}
		if c.events == nil {
			c.events = &record.FakeRecorder{}
		}
		impl := controller.NewContext(ctx, c, controller.ControllerOptions{WorkQueueName: "resultmaterialize-collector", Logger: logger})
		c.LeaderAwareFuncs = pkgreconciler.LeaderAwareFuncs{
			PromoteFunc: func(b pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
				runs, err := informer.Lister().List(labels.Everything())
				if err != nil {
					return err
				}
				for _, run := range runs {
					if key := (types.NamespacedName{Namespace: run.Namespace, Name: run.Name}); collecting(run) && b.Has(key) {
						enq(b, key)
					}
				}
				return nil
			},
		}
		if _, err := informer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
			FilterFunc: collecting,
			Handler:    controller.HandleAll(impl.Enqueue),
		}); err != nil {
			logger.Fatalw("Registering the collector's CustomRun event handler", "error", err)
		}
		return impl
	}
}

package resultmaterialize

import (
	"context"

	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
)

// withEventRecorder gives the reconciler an event recorder whose sink has
// a client of its own, with its own rate limiter: Events never take a
// token that a ConfigMap read, a reader pod or a log read waits for (the
// generated reconciler would send them through the Kubernetes client).
// The broadcaster queues events and drops them when its queue is full, so
// a slow event sink never delays a result.
func withEventRecorder(ctx context.Context) context.Context {
	cfg := injection.GetConfig(ctx)
	if cfg == nil {
		return ctx
	}
	client, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		logging.FromContext(ctx).Fatalw("Creating the event client", "error", err)
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		broadcaster.Shutdown()
	}()
	return controller.WithEventRecorder(ctx, broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: ControllerName}))
}

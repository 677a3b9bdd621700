// Command controller runs the ResultMaterialize custom task controller.
package main

import (
	"github.com/resultmaterialize/controller/pkg/reconciler/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"k8s.io/utils/clock"
	filteredinformerfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"
)

// main runs the controller under sharedmain, which also serves the
// Deployment's /health and /readiness probes on :8080, reads the API
// client's rate (KUBE_API_QPS, KUBE_API_BURST) and the worker count
// (K_THREADS_PER_CONTROLLER) from the environment, and elects leaders per
// bucket from config-leader-election.
func main() {
	// The pod informer watches reader pods only, not every pod in the
	// cluster.
	ctx := filteredinformerfactory.WithSelectors(signals.NewContext(), workspace.PodSelector)
	sharedmain.MainWithContext(ctx, resultmaterialize.ControllerName, resultmaterialize.NewController(clock.RealClock{}))
}

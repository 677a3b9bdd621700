// Command controller runs the ResultMaterialize custom task controller.
package main

import (
	"os"
	"runtime/debug"
	"strconv"

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
	sharedmain.MainWithContext(ctx, resultmaterialize.ControllerName, resultmaterialize.NewController(clock.RealClock{}, memoryBudget()))
}

// memoryBudget reads the container's memory limit (MEMORY_LIMIT, from a
// resourceFieldRef), sets the Go runtime's soft limit (GOMEMLIMIT) at 90%
// of it, and gives 40% of it to the controller's own reads and
// projections; the rest serves the informers' caches and the workers.
// Without a limit the budget is workspace.DefaultMemory.
func memoryBudget() int64 {
	limit, err := strconv.ParseInt(os.Getenv(workspace.MemoryLimitEnv), 10, 64)
	if err != nil || limit <= 0 {
		return workspace.DefaultMemory
	}
	debug.SetMemoryLimit(limit / 10 * 9)
	return limit / 10 * 4
}

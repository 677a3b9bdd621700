// Command controller runs the ResultMaterialize custom task controller.
package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

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
	sharedmain.MainWithContext(ctx, resultmaterialize.ControllerName, resultmaterialize.NewController(clock.RealClock{}, memoryBudget()), resultmaterialize.NewCollector(clock.RealClock{}))
}

// memoryBudget reads the container's memory limit from its cgroup, sets
// the Go runtime's soft limit at 90% of it unless GOMEMLIMIT is set, and
// gives 40% of it to the controller's own projections; the rest serves
// the informers' caches and the workers. Without a limit the budget is
// workspace.DefaultMemory and the runtime's limit is left alone.
func memoryBudget() int64 {
	limit := cgroupMemoryLimit()
	if limit <= 0 {
		return workspace.DefaultMemory
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit / 10 * 9)
	}
	return limit / 10 * 4
}

// cgroupMemoryLimit is the memory limit of the cgroup the controller
// runs in (v2, else v1), or 0 when it has none.
func cgroupMemoryLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// "max" (v2) or a number near 2^63 (v1) means no limit.
		n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}

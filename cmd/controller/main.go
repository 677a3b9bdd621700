// Command controller runs the ResultMaterialize custom task controller.
package main

import (
	"net/http"
	"os"
	"time"

	"github.com/resultmaterialize/controller/pkg/reconciler/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/workspace"
	"k8s.io/utils/clock"
	filteredinformerfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"
)

func main() {
	go serveProbes()
	// The pod informer watches reader pods only, not every pod in the
	// cluster.
	ctx := filteredinformerfactory.WithSelectors(signals.NewContext(), workspace.PodSelector)
	sharedmain.MainWithContext(ctx, resultmaterialize.ControllerName, resultmaterialize.NewController(clock.RealClock{}))
}

// serveProbes answers the Deployment's liveness and readiness probes once
// the process is up; sharedmain exits on a fatal start-up error.
func serveProbes() {
	port := os.Getenv("PROBES_PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/readiness", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	server := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := server.ListenAndServe(); err != nil {
		os.Exit(1)
	}
}

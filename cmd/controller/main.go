// Command controller runs the ResultMaterialize custom task controller.
package main

import (
	"github.com/resultmaterialize/controller/pkg/reconciler/resultmaterialize"
	"k8s.io/utils/clock"
	"knative.dev/pkg/injection/sharedmain"
)

func main() {
	sharedmain.Main(resultmaterialize.ControllerName, resultmaterialize.NewController(clock.RealClock{}))
}

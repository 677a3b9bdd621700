// Command controller runs the ResultMaterialize custom task controller.
package main

import (
	"github.com/resultmaterialize/controller/pkg/reconciler/resultmaterialize"
	"knative.dev/pkg/injection/sharedmain"
)

func main() {
	sharedmain.Main(resultmaterialize.ControllerName, resultmaterialize.NewController)
}

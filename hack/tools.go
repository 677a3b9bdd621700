//go:build tools

// Package hack pins the code generators in go.mod so that
// hack/update-codegen.sh runs the versions the module requires.
package hack

import (
	_ "k8s.io/code-generator"
	_ "knative.dev/pkg/codegen/cmd/injection-gen"
)

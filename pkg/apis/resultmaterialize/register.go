// Package resultmaterialize holds the API group of the ResultMaterialize
// custom task.
package resultmaterialize

const (
	// GroupName is the API group Tekton's experimental custom tasks use.
	GroupName = "custom.tekton.dev"
	// Kind is the custom task kind a CustomRun's customRef or customSpec names.
	Kind = "ResultMaterialize"
)

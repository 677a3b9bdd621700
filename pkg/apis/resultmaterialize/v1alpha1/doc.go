// Package v1alpha1 is the v1alpha1 version of the ResultMaterialize API.
// +k8s:deepcopy-gen=package
// +groupName=custom.tekton.dev
package v1alpha1

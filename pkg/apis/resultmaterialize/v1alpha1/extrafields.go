package v1alpha1

import "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

// ExtraFields is what a ResultMaterialize CustomRun's status.extraFields
// holds.
type ExtraFields struct {
	// ReaderPod names the reader pod of the current attempt while it runs,
	// so a pod deleted before it finished is noticed rather than silently
	// made again.
	ReaderPod string `json:"readerPod,omitempty"`
	// Workspace names the binding the reader pod reads, so the attempt
	// finishes on the binding it started with; a finished run keeps the
	// binding its results were read from.
	Workspace string `json:"workspace,omitempty"`
	// Repository is where the attempt exports (retain: oci), as the
	// controller resolved it when the attempt started, and Insecure
	// whether over plain HTTP: the reader pod's plan must name the same.
	Repository string `json:"repository,omitempty"`
	Insecure   bool   `json:"insecure,omitempty"`
	// ReadBy says how a finished run's files were read: configMap (through
	// the API), readerPod, or objectStore (from the bucket, no pod).
	ReadBy string `json:"readBy,omitempty"`
	// Results is the per-result table of a finished run.
	Results []resultmaterialize.Row `json:"results,omitempty"`
}

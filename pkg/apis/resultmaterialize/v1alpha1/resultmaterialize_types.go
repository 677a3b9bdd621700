package v1alpha1

import "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +genclient:noStatus
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ResultMaterialize is a reusable spec for materializing results from a
// workspace. A CustomRun names it in customRef, or embeds its spec in
// customSpec; the CustomRun's params override it field by field.
type ResultMaterialize struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says what to read and how to surface it.
	Spec ResultMaterializeSpec `json:"spec,omitempty"`
}

// ResultMaterializeSpec says which result files to read and how to surface
// them.
type ResultMaterializeSpec struct {
	// Workspace names the CustomRun workspace binding to read. Empty means
	// the only one bound.
	// +optional
	Workspace string `json:"workspace,omitempty"`
	// Directory is the folder inside the workspace holding the result
	// files. Empty means the workspace root.
	// +optional
	Directory string `json:"directory,omitempty"`
	// Results lists the results to materialize.
	// +optional
	Results []ResultSpec `json:"results,omitempty"`
	// Threshold is the inline limit per result, a byte quantity such as
	// "4Ki" or "1000". Empty means the cluster's result-size-threshold.
	// +optional
	Threshold string `json:"threshold,omitempty"`
	// OnOversize is reference, fail or truncate. Empty means the cluster's
	// default-on-oversize.
	// +optional
	OnOversize resultmaterialize.Policy `json:"onOversize,omitempty"`
	// Retain is workspace or oci: where a result kept by reference is
	// kept. Empty means the cluster's default-retain.
	// +optional
	Retain resultmaterialize.Retain `json:"retain,omitempty"`
	// Provenance publishes Tekton Chains' ARTIFACT_URI and ARTIFACT_DIGEST
	// type hints beside each exported result. Unset means the cluster's
	// provenance.
	// +optional
	Provenance *bool `json:"provenance,omitempty"`
}

// ResultSpec is one result to materialize.
type ResultSpec struct {
	// Name is the CustomRun result name.
	Name string `json:"name"`
	// Path is the file relative to Directory. Empty means Name.
	// +optional
	Path string `json:"path,omitempty"`
	// Threshold overrides the spec's threshold for this result.
	// +optional
	Threshold string `json:"threshold,omitempty"`
	// OnOversize overrides the spec's policy for this result.
	// +optional
	OnOversize resultmaterialize.Policy `json:"onOversize,omitempty"`
	// Retain overrides the spec's retain for this result.
	// +optional
	Retain resultmaterialize.Retain `json:"retain,omitempty"`
	// Optional makes a missing file surface Default instead of failing.
	// +optional
	Optional bool `json:"optional,omitempty"`
	// Default is the value of a missing optional result; empty if unset.
	// +optional
	Default string `json:"default,omitempty"`
	// Encoding is text (the default) or base64 for binary content.
	// +optional
	Encoding resultmaterialize.Encoding `json:"encoding,omitempty"`
	// TrimNewline drops one trailing newline from an inline text value.
	// +optional
	TrimNewline bool `json:"trimNewline,omitempty"`
	// Type is string (the default) or array: a JSON array of strings, or
	// one item per line with format lines, surfaced so consumers get an
	// array param.
	// +optional
	Type resultmaterialize.Type `json:"type,omitempty"`
	// Format names one of two separate settings, by what the result is.
	// For an array read whole it is the file's layout: json (the default,
	// a JSON array of strings) or lines (one item per line). For a
	// projection it is the document's syntax: json (the default) or yaml.
	// The one field and its values are kept so that specs written before
	// the two were told apart still work; lines applies only to arrays,
	// yaml only to projections.
	// +optional
	Format resultmaterialize.Format `json:"format,omitempty"`
	// JSONPath surfaces one field of the file instead of the whole file,
	// selected with kubectl's JSONPath, such as {.metrics.accuracy}.
	// +optional
	JSONPath string `json:"jsonPath,omitempty"`
	// Expression surfaces a CEL expression over the file's document, bound
	// as doc, such as doc.accuracy > 0.9. At most one of jsonPath and
	// expression.
	// +optional
	Expression string `json:"expression,omitempty"`
}

// Projected reports whether the result is a projection of its file.
func (r ResultSpec) Projected() bool { return r.JSONPath != "" || r.Expression != "" }

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ResultMaterializeList is a list of ResultMaterialize objects.
type ResultMaterializeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []ResultMaterialize `json:"items"`
}

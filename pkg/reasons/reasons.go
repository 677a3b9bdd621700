// Package reasons lists every reason a ResultMaterialize run can end with,
// and the reasons a running one gives for what it waits on. The reasons
// are part of the API: pipelines and dashboards match on them, so each one
// is a typed constant documented here and in docs/reasons.md.
package reasons

// Reason is the machine-readable cause recorded on the CustomRun's
// Succeeded condition and on the Kubernetes Events the controller emits.
type Reason string

const (
	// Running means the run has started and its workspace is being read.
	Running Reason = "Running"
	// ReaderQuotaExceeded means the run waits because a ResourceQuota of
	// the namespace refused its reader pod; the create is tried again
	// until the quota frees up or the run times out.
	ReaderQuotaExceeded Reason = "ReaderQuotaExceeded"
	// ReaderCreateRetrying means the run waits because the API server
	// failed to create its reader pod for a reason that passes (an
	// admission webhook that failed or timed out, a quota conflict,
	// throttling, a server error); the create is tried again.
	ReaderCreateRetrying Reason = "ReaderCreateRetrying"
	// ReaderPending means the run waits for its reader pod to start: the
	// scheduler cannot place it yet (an unbound volume, no node that
	// fits) or the kubelet has not started its container.
	ReaderPending Reason = "ReaderPending"
	// ReaderStatusUnknown means the run waits for the reader pod's node to
	// report the reader container: the pod's phase is Unknown, or Running
	// without the container's state.
	ReaderStatusUnknown Reason = "ReaderStatusUnknown"
	// ControllerMemoryBusy means the run's ConfigMap projections wait for
	// their share of the controller's memory budget, held by other runs'.
	ControllerMemoryBusy Reason = "ControllerMemoryBusy"
	// RegistryUnreachable means the run waits because the controller
	// cannot reach the registry to verify the artifacts its reader pod
	// exported; it looks again until the run times out.
	RegistryUnreachable Reason = "RegistryUnreachable"
	// Materialized means every requested result was surfaced inline or by reference.
	Materialized Reason = "Materialized"

	// InvalidSpec means a param, the embedded spec or the referenced object has
	// a value outside what the API allows.
	InvalidSpec Reason = "InvalidSpec"
	// ObjectNotFound means customRef names a ResultMaterialize object that does
	// not exist in the run's namespace.
	ObjectNotFound Reason = "ObjectNotFound"

	// WorkspaceMissing means the run binds no workspace, or not the one asked for.
	WorkspaceMissing Reason = "WorkspaceMissing"
	// WorkspaceAmbiguous means several workspaces are bound and none was chosen.
	WorkspaceAmbiguous Reason = "WorkspaceAmbiguous"
	// WorkspaceNotSupported means the binding's volume kind cannot be read
	// (emptyDir is private to one pod; others have no shared content).
	WorkspaceNotSupported Reason = "WorkspaceNotSupported"
	// SecretWorkspaceRefused means a secret workspace while
	// allow-secret-workspaces is false, so no secret can leak into results.
	SecretWorkspaceRefused Reason = "SecretWorkspaceRefused"
	// WorkspaceSourceNotFound means the ConfigMap behind the binding is missing.
	WorkspaceSourceNotFound Reason = "WorkspaceSourceNotFound"

	// ResultMissing means a result file that is not optional does not exist.
	ResultMissing Reason = "ResultMissing"
	// ResultUnreadable means a result path escapes the workspace, is not a
	// regular file, or cannot be read.
	ResultUnreadable Reason = "ResultUnreadable"
	// ResultInvalidUTF8 means a text result to be surfaced inline is not valid
	// UTF-8; encoding base64 surfaces binary content.
	ResultInvalidUTF8 Reason = "ResultInvalidUTF8"
	// ResultOversize means a result larger than its threshold under onOversize fail.
	ResultOversize Reason = "ResultOversize"
	// ResultInvalidArray means an array result's file is not a non-empty
	// list in its format.
	ResultInvalidArray Reason = "ResultInvalidArray"
	// ResultReadAsArray means a string result's value is a JSON array of
	// strings, which Tekton would pass to consumers as an array param.
	ResultReadAsArray Reason = "ResultReadAsArray"
	// ProjectionInvalidDocument means a projected file is not valid JSON, or
	// not one valid YAML document under format: yaml.
	ProjectionInvalidDocument Reason = "ProjectionInvalidDocument"
	// ProjectionNoMatch means a jsonPath or expression selects nothing and
	// the result is not optional.
	ProjectionNoMatch Reason = "ProjectionNoMatch"
	// ProjectionTooLarge means a projection that parses the whole document
	// met a file above max-projection-bytes, or a path selected a value
	// above it.
	ProjectionTooLarge Reason = "ProjectionTooLarge"
	// ProjectionCostExceeded means an expression went over the CEL cost
	// limit or its time, or a projection ran out of its caller's time.
	ProjectionCostExceeded Reason = "ProjectionCostExceeded"
	// ProjectionEvalFailed means an expression failed at run time (a type
	// error, a division by zero) or gave a value JSON cannot hold.
	ProjectionEvalFailed Reason = "ProjectionEvalFailed"
	// InlineBudgetExceeded means the inline values exceed max-inline-total and a
	// result that would be demoted has onOversize fail.
	InlineBudgetExceeded Reason = "InlineBudgetExceeded"

	// StatusTooLarge means the finished run's status would exceed what the
	// API server stores for one object.
	StatusTooLarge Reason = "StatusTooLarge"
	// PlanTooLarge means the plan recorded on the reader pod would be
	// larger than the controller keeps an annotation, far below the API
	// server's limit for all of a pod's annotations.
	PlanTooLarge Reason = "PlanTooLarge"

	// ReaderFailed means the reader pod failed, was evicted or deleted on every
	// attempt the run's retries allow.
	ReaderFailed Reason = "ReaderFailed"
	// ReaderRefused means the API server refused to create the reader pod
	// for good (Pod Security, a LimitRange, an admission webhook's denial,
	// an invalid reader-image or request).
	ReaderRefused Reason = "ReaderRefused"
	// ReaderUnschedulable means the reader pod stayed Pending past
	// reader-start-timeout.
	ReaderUnschedulable Reason = "ReaderUnschedulable"
	// ReaderPlacementUnknown means the run carries an affinity assistant
	// that does not mount the workspace read, and no assistant of the
	// PipelineRun does.
	ReaderPlacementUnknown Reason = "ReaderPlacementUnknown"
	// ReaderLogUnavailable means the reader pod finished but its log could
	// not be read (node gone, kubelet down, container removed).
	ReaderLogUnavailable Reason = "ReaderLogUnavailable"
	// ReaderOutputInvalid means the reader pod's output was malformed, truncated
	// or larger than the cap derived from the spec.
	ReaderOutputInvalid Reason = "ReaderOutputInvalid"
	// ReaderOutputCut means the reader pod's log did not begin with its
	// document: the kubelet rotated the log, or something else wrote to it.
	ReaderOutputCut Reason = "ReaderOutputCut"
	// ObjectStoreCredentialsRefused means the object store behind an
	// object-store profile refused the credentials of the Secret the
	// profile names.
	ObjectStoreCredentialsRefused Reason = "ObjectStoreCredentialsRefused"
	// ReadThroughReaderPod is the Event a run gets when its workspace has
	// an exact object-store profile but is read by a reader pod after all
	// (the Event says why: a symlink object, an object above
	// object-store-max-bytes, a store that cannot be reached).
	ReadThroughReaderPod Reason = "ReadThroughReaderPod"

	// ExportNotConfigured means a result is to be retained as an OCI
	// artifact but no oci-repository is configured for the run's namespace.
	ExportNotConfigured Reason = "ExportNotConfigured"
	// ExportRefused means the registry refused the export for good: its
	// credentials (401) or permissions (403), as the registry words it.
	ExportRefused Reason = "ExportRefused"
	// ExportTooLarge means the registry refused the artifact's size or the
	// repository's quota (413, 507, or a quota error code).
	ExportTooLarge Reason = "ExportTooLarge"
	// ExportUnavailable means the registry could not be reached, or kept
	// failing (5xx, 429, timeouts) after the reader's own retries.
	ExportUnavailable Reason = "ExportUnavailable"
	// ExportUnverified means the artifact the reader reported pushed does
	// not resolve in the registry as that file: never published.
	ExportUnverified Reason = "ExportUnverified"
	// ArtifactsDeleted is the Event a deleted run gets when its exported
	// artifacts were deleted under oci-gc: onRunDeletion.
	ArtifactsDeleted Reason = "ArtifactsDeleted"
	// ArtifactsUncollected is the Event a run gets under oci-gc:
	// onRunDeletion when the controller may not add its finalizer: its
	// artifacts stay when it is deleted.
	ArtifactsUncollected Reason = "ArtifactsUncollected"
	// ArtifactsNotDeleted is the Event a deleted run gets when its
	// artifacts could not be deleted within oci-gc-timeout (a registry
	// that refuses deletes or keeps failing): the run is let go.
	ArtifactsNotDeleted Reason = "ArtifactsNotDeleted"

	// Cancelled means spec.status was set to RunCancelled (Tekton's reason).
	Cancelled Reason = "CustomRunCancelled"
	// TimedOut means the attempt ran longer than spec.timeout (Tekton's reason).
	TimedOut Reason = "CustomRunTimedOut"
)

// Waiting lists the reasons a running run (Succeeded=Unknown) gives for
// what it waits on; none of them ends a run.
var Waiting = []Reason{ReaderQuotaExceeded, ReaderCreateRetrying, ReaderPending, ReaderStatusUnknown, ControllerMemoryBusy, RegistryUnreachable}

// All lists every reason; docs/reasons.md must name each one.
var All = []Reason{
	Running, Materialized, InvalidSpec, ObjectNotFound,
	ReaderQuotaExceeded, ReaderCreateRetrying, ReaderPending, ReaderStatusUnknown, ControllerMemoryBusy, RegistryUnreachable,
	WorkspaceMissing, WorkspaceAmbiguous, WorkspaceNotSupported, SecretWorkspaceRefused, WorkspaceSourceNotFound,
	ResultMissing, ResultUnreadable, ResultInvalidUTF8, ResultOversize, ResultInvalidArray, ResultReadAsArray,
	ProjectionInvalidDocument, ProjectionNoMatch, ProjectionTooLarge, ProjectionCostExceeded, ProjectionEvalFailed,
	InlineBudgetExceeded, StatusTooLarge, PlanTooLarge,
	ReaderFailed, ReaderRefused, ReaderUnschedulable, ReaderPlacementUnknown, ReaderLogUnavailable, ReaderOutputInvalid, ReaderOutputCut,
	ObjectStoreCredentialsRefused, ReadThroughReaderPod,
	ExportNotConfigured, ExportRefused, ExportTooLarge, ExportUnavailable, ExportUnverified,
	ArtifactsDeleted, ArtifactsNotDeleted, ArtifactsUncollected,
	Cancelled, TimedOut,
}

// String returns the reason as Tekton stores it.
func (r Reason) String() string { return string(r) }

// Package workspace reads result files from a CustomRun's workspace
// binding. Each kind of binding has a Source; Select picks the binding and
// For picks the source, refusing kinds whose content cannot be shared.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

// ErrPending means the source started reading and the run will be
// reconciled again when there is progress (a reader pod changed).
var ErrPending = errors.New("workspace read in progress")

// TransientError is a failed read attempt that a retry may fix (a reader
// pod evicted, deleted or failed). The run retries per spec.retries and
// then fails with this reason and message.
type TransientError struct {
	Reason  reasons.Reason
	Message string
}

func (e *TransientError) Error() string { return string(e.Reason) + ": " + e.Message }

// Source reads files from one kind of binding.
type Source interface {
	// Read returns one report per request, index-aligned, or ErrPending, a
	// *TransientError, a *materialize.Failure, or an error the work queue
	// retries.
	Read(ctx context.Context, run *v1beta1.CustomRun, binding v1beta1.WorkspaceBinding, reqs []materialize.FileRequest) ([]materialize.FileReport, error)
	// Cleanup removes whatever Read created for the run's current attempt.
	Cleanup(ctx context.Context, run *v1beta1.CustomRun) error
}

// Select returns the binding named name, or the only binding when name is
// empty.
func Select(run *v1beta1.CustomRun, name string) (v1beta1.WorkspaceBinding, *materialize.Failure) {
	bound := run.Spec.Workspaces
	names := make([]string, len(bound))
	for i, b := range bound {
		names[i] = b.Name
	}
	switch {
	case len(bound) == 0:
		return v1beta1.WorkspaceBinding{}, &materialize.Failure{Reason: reasons.WorkspaceMissing,
			Message: "the CustomRun binds no workspace: bind the workspace the producer wrote its result files to"}
	case name == "" && len(bound) > 1:
		return v1beta1.WorkspaceBinding{}, &materialize.Failure{Reason: reasons.WorkspaceAmbiguous,
			Message: fmt.Sprintf("the CustomRun binds %d workspaces (%s) and none was chosen: set the workspace param or spec.workspace", len(bound), strings.Join(names, ", "))}
	case name == "":
		return bound[0], nil
	}
	for _, b := range bound {
		if b.Name == name {
			return b, nil
		}
	}
	return v1beta1.WorkspaceBinding{}, &materialize.Failure{Reason: reasons.WorkspaceMissing,
		Message: fmt.Sprintf("workspace %q is not bound; the CustomRun binds: %s", name, strings.Join(names, ", "))}
}

// Sources holds one source per readable kind of binding.
type Sources struct {
	// ConfigMap reads configMap bindings through the API.
	ConfigMap Source
	// Volume reads persistentVolumeClaim, csi and (when allowed) secret
	// bindings through a reader pod.
	Volume Source
}

// For returns the source for the binding, or a Failure saying why its
// kind cannot be read.
func (s Sources) For(b v1beta1.WorkspaceBinding, allowSecrets bool) (Source, *materialize.Failure) {
	switch {
	case b.ConfigMap != nil:
		return s.ConfigMap, nil
	case b.PersistentVolumeClaim != nil, b.CSI != nil:
		return s.Volume, nil
	case b.Secret != nil:
		if !allowSecrets {
			return nil, &materialize.Failure{Reason: reasons.SecretWorkspaceRefused,
				Message: fmt.Sprintf("workspace %q is bound to secret %q, and allow-secret-workspaces is false in config-materialize: a secret's content must not leak into results", b.Name, b.Secret.SecretName)}
		}
		return s.Volume, nil
	case b.EmptyDir != nil:
		return nil, notSupported(b, "emptyDir", "an emptyDir lives and dies with one pod, so no other task's files are ever in it")
	case b.VolumeClaimTemplate != nil:
		return nil, notSupported(b, "volumeClaimTemplate", "outside a PipelineRun it creates a new, empty volume for this run alone")
	case b.Projected != nil:
		return nil, notSupported(b, "projected", "a projected volume holds only the API objects it projects, not files a task wrote")
	default:
		return nil, notSupported(b, "an unknown volume kind", "it names no volume source")
	}
}

func notSupported(b v1beta1.WorkspaceBinding, kind, why string) *materialize.Failure {
	return &materialize.Failure{Reason: reasons.WorkspaceNotSupported,
		Message: fmt.Sprintf("workspace %q is bound to %s, which cannot be read: %s; bind a persistentVolumeClaim, volumeClaimTemplate (in a Pipeline), csi or configMap workspace", b.Name, kind, why)}
}

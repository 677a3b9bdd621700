// Package workspace reads result files from a CustomRun's workspace
// binding. Each kind of binding has a Source; Select picks the binding and
// For picks the source, refusing kinds whose content cannot be shared.
// Sources only read: they return what they found or an *outcome.Outcome,
// and never write the run's status.
package workspace

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

// Attempt is what one read attempt of a run needs.
type Attempt struct {
	Run     *v1beta1.CustomRun
	Binding v1beta1.WorkspaceBinding
	// Plan is the plan resolved now, from the live config and object.
	Plan materialize.Plan
	// ReaderPod is the reader pod the run's status says this attempt
	// made, if any.
	ReaderPod string
	// Newest returns nil when Run is the newest copy the API server holds,
	// and otherwise the error to return (a requeue to see the newer copy,
	// or the failed read). A source asks it before it deletes what may be
	// another run's.
	Newest func(ctx context.Context) error
}

// Found is what a source read.
type Found struct {
	// Plan is the plan the reports answer: for a reader pod, the one
	// recorded on it when the attempt started, so a config or object
	// change mid-read applies to the next attempt only.
	Plan materialize.Plan
	// Reports has one report per result of Plan, in order.
	Reports []protocol.FileReport
	// ReaderLatency is how long the reader pod took, from its creation to
	// its output read, when a reader pod was read.
	ReaderLatency time.Duration
	// ReaderPod names the attempt's reader pod once it exists (created,
	// or found and owned by the run), also while it works, so the run can
	// record it.
	ReaderPod string
}

// Source reads files from one kind of binding.
type Source interface {
	// Read returns the reports, or an *outcome.Outcome (still working,
	// the attempt failed, the run failed), or an error the work queue
	// retries.
	Read(ctx context.Context, a Attempt) (Found, error)
	// Cleanup removes whatever Read created for the run's current attempt.
	Cleanup(ctx context.Context, run *v1beta1.CustomRun) error
}

// Select returns the binding named name, or the only binding when name is
// empty.
func Select(run *v1beta1.CustomRun, name string) (v1beta1.WorkspaceBinding, error) {
	bound := run.Spec.Workspaces
	names := make([]string, len(bound))
	for i, b := range bound {
		names[i] = b.Name
	}
	switch {
	case len(bound) == 0:
		return v1beta1.WorkspaceBinding{}, outcome.Fail(reasons.WorkspaceMissing,
			"the CustomRun binds no workspace: bind the workspace the producer wrote its result files to")
	case name == "" && len(bound) > 1:
		return v1beta1.WorkspaceBinding{}, outcome.Fail(reasons.WorkspaceAmbiguous,
			"the CustomRun binds %d workspaces (%s) and none was chosen: set the workspace param or spec.workspace", len(bound), strings.Join(names, ", "))
	case name == "":
		return bound[0], nil
	}
	for _, b := range bound {
		if b.Name == name {
			return b, nil
		}
	}
	return v1beta1.WorkspaceBinding{}, outcome.Fail(reasons.WorkspaceMissing,
		"workspace %q is not bound; the CustomRun binds: %s", name, strings.Join(names, ", "))
}

// Sources holds one source per readable kind of binding.
type Sources struct {
	// ConfigMap reads configMap bindings through the API.
	ConfigMap Source
	// Volume reads persistentVolumeClaim, csi and (when allowed) secret
	// bindings through a reader pod.
	Volume Source
}

// All lists every source, for cleanup.
func (s Sources) All() []Source {
	return []Source{s.ConfigMap, s.Volume}
}

// For returns the source for the binding, or a terminal Outcome saying why
// its kind cannot be read.
func (s Sources) For(b v1beta1.WorkspaceBinding, cfg *config.Config) (Source, error) {
	switch {
	case b.ConfigMap != nil:
		return s.ConfigMap, nil
	case b.PersistentVolumeClaim != nil:
		return s.Volume, nil
	case b.CSI != nil:
		if slices.Contains(cfg.SecretCSIDrivers, b.CSI.Driver) && !cfg.AllowSecretWorkspaces {
			return nil, outcome.Fail(reasons.SecretWorkspaceRefused,
				"workspace %q is bound to a csi volume of driver %q, listed in %s, and %s is false in %s: a secret's content must not leak into results",
				b.Name, b.CSI.Driver, config.KeySecretCSIDrivers, config.KeyAllowSecrets, config.Name)
		}
		return s.Volume, nil
	case b.Secret != nil:
		if !cfg.AllowSecretWorkspaces {
			return nil, outcome.Fail(reasons.SecretWorkspaceRefused,
				"workspace %q is bound to secret %q, and %s is false in %s: a secret's content must not leak into results", b.Name, b.Secret.SecretName, config.KeyAllowSecrets, config.Name)
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

func notSupported(b v1beta1.WorkspaceBinding, kind, why string) error {
	return outcome.Fail(reasons.WorkspaceNotSupported,
		"workspace %q is bound to %s, which cannot be read: %s; bind a persistentVolumeClaim, volumeClaimTemplate (in a Pipeline), csi or configMap workspace", b.Name, kind, why)
}

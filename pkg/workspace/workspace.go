// Package workspace reads result files from a CustomRun's workspace
// binding. Each kind of binding has a Source; Select picks the binding and
// For picks the source, refusing kinds whose content cannot be shared.
// Sources only read: they return what they found or an *outcome.Outcome,
// and never write the run's status.
package workspace

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
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
	// ReadBy says how the files were read, for the run's status: one of
	// the ReadBy constants.
	ReadBy string
	// Fallback says why a source that reads directly handed this attempt
	// to the reader pod; the run gets an Event saying so.
	Fallback string
	// ReaderPod names the attempt's reader pod once it exists (created,
	// or found and owned by the run), also while it works, so the run can
	// record it: it is the source's Marker, for a source that Resumes.
	ReaderPod string
}

// Source reads files from the kinds of binding it claims. Callers learn
// what they must know of a source from its Traits and Marker, never by
// comparing it with a particular one.
type Source interface {
	// Traits says which binding kinds the source reads and how an attempt
	// that uses it must be driven.
	Traits() Traits
	// Marker is what the source records in the run's status
	// (Found.ReaderPod) when it starts the run's current attempt, the same
	// for the whole attempt, so the next reconcile finds the source of
	// that attempt (Sources.Resuming); "" when Traits().Resumes is false.
	Marker(run *v1beta1.CustomRun) string
	// Read returns the reports, or an *outcome.Outcome (still working,
	// the attempt failed, the run failed), or an error the work queue
	// retries.
	Read(ctx context.Context, a Attempt) (Found, error)
	// Cleanup removes whatever Read created for the run's current attempt.
	Cleanup(ctx context.Context, run *v1beta1.CustomRun) error
}

// Claimer is a source that reads only some bindings of its kinds: For
// asks it before it picks it, and passes over it when it declines.
type Claimer interface {
	Claims(ctx context.Context, ns string, b v1beta1.WorkspaceBinding, cfg *config.Config) bool
}

// Traits are what the reconciler needs to know of a source.
type Traits struct {
	// Kinds are the binding kinds the source reads; two registered
	// sources claim the same kind only when the first is a Claimer.
	Kinds []Kind
	// Resumes is true when an attempt the source started is finished
	// from the plan it recorded then, not from the live spec and config:
	// the source records its Marker in the run's status, and a reconcile
	// that finds it gives the attempt back to the source with the
	// recorded binding and no live plan.
	Resumes bool
	// NeedsNewest is true when the source, starting an attempt, must be
	// given the newest copy of the run: it makes objects that an older
	// copy, predating them, would make again.
	NeedsNewest bool
}

// Kind is a kind of workspace binding, named as in the binding's YAML.
type Kind string

// The binding kinds. Only those a registered source claims are read.
const (
	KindConfigMap             Kind = "configMap"
	KindPersistentVolumeClaim Kind = "persistentVolumeClaim"
	KindCSI                   Kind = "csi"
	KindSecret                Kind = "secret"
	KindEmptyDir              Kind = "emptyDir"
	KindVolumeClaimTemplate   Kind = "volumeClaimTemplate"
	KindProjected             Kind = "projected"
)

// kindOf returns the binding's kind, or "" when it names none.
func kindOf(b v1beta1.WorkspaceBinding) Kind {
	switch {
	case b.ConfigMap != nil:
		return KindConfigMap
	case b.PersistentVolumeClaim != nil:
		return KindPersistentVolumeClaim
	case b.CSI != nil:
		return KindCSI
	case b.Secret != nil:
		return KindSecret
	case b.EmptyDir != nil:
		return KindEmptyDir
	case b.VolumeClaimTemplate != nil:
		return KindVolumeClaimTemplate
	case b.Projected != nil:
		return KindProjected
	default:
		return ""
	}
}

// unreadable says why a kind no source claims cannot be read.
var unreadable = map[Kind]string{
	KindEmptyDir:            "an emptyDir lives and dies with one pod, so no other task's files are ever in it",
	KindVolumeClaimTemplate: "outside a PipelineRun it creates a new, empty volume for this run alone",
	KindProjected:           "a projected volume holds only the API objects it projects, not files a task wrote",
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

// Deps are what the sources need from the controller.
type Deps struct {
	Kube kubernetes.Interface
	// Pods lists the reader pods.
	Pods  corelisters.PodLister
	Clock clock.PassiveClock
	// Memory is the controller-wide budget for projections the controller
	// computes.
	Memory *Memory
	// ProjectionTime bounds a run's projections in the controller; zero
	// means ProjectionTime.
	ProjectionTime time.Duration
	// Logs streams a reader pod's log; nil reads pods/log.
	Logs func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// Follow follows a running reader pod's log; nil follows pods/log.
	Follow func(ctx context.Context, pod *corev1.Pod, limit int64) (io.ReadCloser, error)
	// Wake enqueues a run whose followed reader log has ended.
	Wake func(types.NamespacedName)
	// Follows is how many reader logs may be followed at once: MaxFollows,
	// or zero to read running readers once a second only.
	Follows int
}

// How a run's files were read, as its status says.
const (
	ReadByConfigMap   = "configMap"
	ReadByReaderPod   = "readerPod"
	ReadByObjectStore = "objectStore"
)

// Sources is every source, one per set of binding kinds.
type Sources []Source

// NewSources returns the registered sources: a new source is one line
// here (TestSourcesAreRegistered fails until it is).
func NewSources(d Deps) Sources {
	pods := &PodSource{Kube: d.Kube, Pods: d.Pods, Clock: d.Clock, Logs: d.Logs, Follow: d.Follow, Wake: d.Wake, MaxFollows: d.Follows}
	return Sources{
		&ConfigMapSource{Kube: d.Kube, Memory: d.Memory, Time: d.ProjectionTime},
		&ObjectStoreSource{Kube: d.Kube, Memory: d.Memory, Streams: make(chan struct{}, ObjectStoreStreams), Pods: pods},
		pods,
	}
}

// ObjectStoreStreams is how many objects the controller streams at once:
// its bytes in flight are at most this many read buffers.
const ObjectStoreStreams = 8

// Resuming returns the source whose attempt the run's status records,
// by the marker recorded there, or nil when none resumes it.
func (s Sources) Resuming(run *v1beta1.CustomRun, marker string) Source {
	if marker == "" {
		return nil
	}
	for _, src := range s {
		if src.Traits().Resumes && src.Marker(run) == marker {
			return src
		}
	}
	return nil
}

// For returns the source for the binding of a run in namespace ns, or a
// terminal Outcome saying why its kind cannot be read.
func (s Sources) For(ctx context.Context, ns string, b v1beta1.WorkspaceBinding, cfg *config.Config) (Source, error) {
	kind := kindOf(b)
	switch {
	case kind == KindCSI && slices.Contains(cfg.SecretCSIDrivers, b.CSI.Driver) && !cfg.AllowSecretWorkspaces:
		return nil, outcome.Fail(reasons.SecretWorkspaceRefused,
			"workspace %q is bound to a csi volume of driver %q, listed in %s, and %s is false in %s: a secret's content must not leak into results",
			b.Name, b.CSI.Driver, config.KeySecretCSIDrivers, config.KeyAllowSecrets, config.Name)
	case kind == KindSecret && !cfg.AllowSecretWorkspaces:
		return nil, outcome.Fail(reasons.SecretWorkspaceRefused,
			"workspace %q is bound to secret %q, and %s is false in %s: a secret's content must not leak into results", b.Name, b.Secret.SecretName, config.KeyAllowSecrets, config.Name)
	case kind == "":
		return nil, notSupported(b, "an unknown volume kind", "it names no volume source")
	}
	for _, src := range s {
		if !slices.Contains(src.Traits().Kinds, kind) {
			continue
		}
		if c, ok := src.(Claimer); ok && !c.Claims(ctx, ns, b, cfg) {
			continue
		}
		return src, nil
	}
	why, ok := unreadable[kind]
	if !ok {
		why = "no source of this controller reads it"
	}
	return nil, notSupported(b, string(kind), why)
}

func notSupported(b v1beta1.WorkspaceBinding, kind, why string) error {
	return outcome.Fail(reasons.WorkspaceNotSupported,
		"workspace %q is bound to %s, which cannot be read: %s; bind a persistentVolumeClaim, volumeClaimTemplate (in a Pipeline), csi or configMap workspace", b.Name, kind, why)
}

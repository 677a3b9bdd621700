package resultmaterialize

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/system"
)

// verifyTimeout bounds the registry calls that check one run's exports,
// and those that delete one artifact.
const verifyTimeout = 20 * time.Second

// registryRecheck is how often a run whose registry the controller
// cannot reach looks again.
const registryRecheck = 10 * time.Second

// exportTarget sets the plan's export target when a result is retained
// as an OCI artifact and the binding is a volume Tekton may delete (not a
// ConfigMap or Secret, nor a CSI volume of secrets): the namespace's
// repository and the annotations that name the run. With no repository
// for the namespace the run fails.
func exportTarget(run *v1beta1.CustomRun, b v1beta1.WorkspaceBinding, cfg *config.Config, plan *materialize.Plan, now time.Time) error {
	if b.PersistentVolumeClaim == nil && (b.CSI == nil || slices.Contains(cfg.SecretCSIDrivers, b.CSI.Driver)) {
		return nil
	}
	var names []string
	for _, res := range plan.Results {
		if res.Exports() {
			names = append(names, res.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	repo := cfg.Retain.RepositoryFor(run.Namespace)
	if repo == "" {
		return outcome.Fail(reasons.ExportNotConfigured, "results %q have retain: oci, but config-materialize sets no %s for namespace %q", names, config.KeyOCIRepository, run.Namespace)
	}
	// The reader's pushes end a tenth (at least 10 s, at most half) of
	// reader-read-timeout before its pod's deadline, counted from now: the
	// pod's deadline counts from its start, which comes later.
	read := cfg.ReaderReadTimeout
	deadline := now.Add(read - max(read/10, min(10*time.Second, read/2)))
	plan.Export = &protocol.ExportTarget{Repository: repo, Insecure: cfg.Retain.Insecure, Deadline: deadline.Unix(), Annotations: map[string]string{
		artifact.AnnotationRun:         run.Name,
		artifact.AnnotationUID:         string(run.UID),
		artifact.AnnotationNamespace:   run.Namespace,
		artifact.AnnotationPipelineRun: run.Labels[pipeline.PipelineRunLabelKey],
		artifact.AnnotationTask:        run.Labels[pipeline.PipelineTaskLabelKey],
	}}
	return nil
}

// verifyExports checks every exported row's artifact in the registry
// before the run publishes its URI: all rows at once, through one
// puller, within verifyTimeout, in the repository the attempt recorded
// when it started (never one only the reader pod's plan names). An
// artifact that does not resolve as its file of this run ends the
// attempt; a registry the controller cannot reach makes the run wait
// (RegistryUnreachable), its reader pod kept.
func (r *Reconciler) verifyExports(ctx context.Context, run *v1beta1.CustomRun, plan materialize.Plan, out materialize.Outcome) error {
	if plan.Export == nil {
		return nil
	}
	if rec := recorded(run); rec.Repository != plan.Export.Repository || rec.Insecure != plan.Export.Insecure {
		return outcome.Retry(reasons.ReaderOutputInvalid, "the reader pod's plan exports to %q, the attempt to %q", plan.Export.Repository, rec.Repository)
	}
	var rows []resultmaterialize.Row
	for _, row := range out.Rows {
		if row.URI != "" {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	creds, err := registryCredentials(ctx, r.kube)
	if err != nil {
		return err
	}
	repo, err := artifact.Repository(*plan.Export)
	if err != nil {
		return outcome.Fail(reasons.ExportRefused, "repository %q: %v", plan.Export.Repository, err)
	}
	auth := creds.For(repo)
	puller, err := remote.NewPuller(remote.WithAuth(auth), remote.WithUserAgent("resultmaterialize-controller"))
	if err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	owner := artifact.Owner{Namespace: run.Namespace, Run: run.Name, UID: string(run.UID)}
	failures := make([]error, len(rows))
	var g errgroup.Group
	g.SetLimit(8)
	for i, row := range rows {
		g.Go(func() error {
			f := artifact.File{Name: row.Name, Path: row.Path, Size: row.Size, SHA256: row.SHA256}
			failures[i] = artifact.Verify(vctx, row.URI, plan.Export.Insecure, auth, f, owner, remote.Reuse(puller))
			return nil
		})
	}
	_ = g.Wait()
	for i, err := range failures {
		if err == nil {
			continue
		}
		switch f := artifact.Failure(plan.Export.Repository, err); f.Reason {
		case reasons.ExportUnavailable:
			return outcome.WaitOn(reasons.RegistryUnreachable, registryRecheck, "verifying result %q's artifact %s: %s", rows[i].Name, rows[i].URI, f.Message)
		case reasons.ExportUnverified:
			return outcome.Retry(f.Reason, "result %q: %s", rows[i].Name, f.Message)
		default:
			return outcome.Fail(f.Reason, "result %q: the controller could not verify %s: %s", rows[i].Name, rows[i].URI, f.Message)
		}
	}
	return nil
}

// registryCredentials reads oci-credentials-secret from the controller's
// namespace: none when unset or missing (anonymous).
func registryCredentials(ctx context.Context, kube kubernetes.Interface) (artifact.Credentials, error) {
	name := config.FromContext(ctx).Retain.CredentialsSecret
	if name == "" {
		return artifact.Credentials{}, nil
	}
	s, err := kube.CoreV1().Secrets(system.Namespace()).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return artifact.Credentials{}, nil
	case apierrors.IsForbidden(err):
		return nil, outcome.Fail(reasons.ExportRefused, "the controller may not read Secret %s/%s (%s): apply the Role of docs/durable-references.md", system.Namespace(), name, config.KeyOCICredentialsSecret)
	case err != nil:
		return nil, fmt.Errorf("getting Secret %s/%s: %w", system.Namespace(), name, err)
	}
	creds, err := artifact.ParseCredentials(s.Data[corev1.DockerConfigJsonKey])
	if err != nil {
		return nil, outcome.Fail(reasons.ExportRefused, "Secret %s/%s (%s): its %s is not a docker config JSON", system.Namespace(), name, config.KeyOCICredentialsSecret, corev1.DockerConfigJsonKey)
	}
	return creds, nil
}

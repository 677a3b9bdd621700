package resultmaterialize

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/system"
)

// verifyTimeout bounds the registry calls that check one run's exports.
const verifyTimeout = 20 * time.Second

// exportTarget sets the plan's export target when a result is retained
// as an OCI artifact: the namespace's repository and the annotations that
// name the run. With no repository for the namespace the run fails.
func exportTarget(run *v1beta1.CustomRun, cfg *config.Config, plan *materialize.Plan) error {
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
	plan.Export = &protocol.ExportTarget{Repository: repo, Insecure: cfg.Retain.Insecure, Annotations: map[string]string{
		artifact.AnnotationRun:         run.Name,
		artifact.AnnotationNamespace:   run.Namespace,
		artifact.AnnotationPipelineRun: run.Labels[pipeline.PipelineRunLabelKey],
		artifact.AnnotationTask:        run.Labels[pipeline.PipelineTaskLabelKey],
	}}
	return nil
}

// verifyExports checks every exported row's artifact in the registry
// before the run publishes its URI. A registry the controller cannot
// reach is an error the work queue retries, the reader pod's document
// kept; an artifact that does not resolve as its file ends the attempt.
func (r *Reconciler) verifyExports(ctx context.Context, plan materialize.Plan, out materialize.Outcome) error {
	if plan.Export == nil {
		return nil
	}
	var creds artifact.Credentials
	for _, row := range out.Rows {
		if row.URI == "" {
			continue
		}
		if creds == nil {
			var err error
			if creds, err = registryCredentials(ctx, r.kube); err != nil {
				return err
			}
		}
		repo, err := artifact.Repository(*plan.Export)
		if err != nil {
			return outcome.Fail(reasons.ExportRefused, "repository %q: %v", plan.Export.Repository, err)
		}
		vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
		err = artifact.Verify(vctx, row.URI, plan.Export.Insecure, creds.For(repo), artifact.File{Name: row.Name, Path: row.Path, Size: row.Size, SHA256: row.SHA256})
		cancel()
		if err == nil {
			continue
		}
		switch f := artifact.Failure(plan.Export.Repository, err); f.Reason {
		case reasons.ExportUnavailable:
			return fmt.Errorf("verifying result %q's artifact %s: %w", row.Name, row.URI, err)
		case reasons.ExportUnverified:
			return outcome.Retry(f.Reason, "result %q: %s", row.Name, f.Message)
		default:
			return outcome.Fail(f.Reason, "result %q: the controller could not verify %s with its %s: %s", row.Name, row.URI, config.KeyOCICredentialsSecret, f.Message)
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
		return nil, outcome.Fail(reasons.ExportRefused, "Secret %s/%s (%s): %v", system.Namespace(), name, config.KeyOCICredentialsSecret, errors.Unwrap(err))
	}
	return creds, nil
}

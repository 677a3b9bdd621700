package resultmaterialize

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// resolved is a run's spec after the object or embedded spec, the params
// and the cluster defaults were combined.
type resolved struct {
	workspace string
	plan      materialize.Plan
}

// resolve combines, in increasing precedence, the named object or the
// embedded spec, and the run's params, then validates the result and
// fills in cluster defaults. A Failure names the field, the value and what
// is allowed; an error is transient (the lister failed).
func (r *Reconciler) resolve(ctx context.Context, run *v1beta1.CustomRun) (*resolved, *materialize.Failure, error) {
	var spec v1alpha1.ResultMaterializeSpec
	switch {
	case run.Spec.CustomSpec != nil:
		if raw := run.Spec.CustomSpec.Spec.Raw; len(raw) > 0 {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				return nil, &materialize.Failure{Reason: reasons.InvalidSpec,
					Message: fmt.Sprintf("customSpec.spec is not a ResultMaterialize spec: %v", err)}, nil
			}
		}
	case run.Spec.CustomRef != nil && run.Spec.CustomRef.Name != "":
		name := run.Spec.CustomRef.Name
		obj, err := r.lister.ResultMaterializes(run.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			return nil, &materialize.Failure{Reason: reasons.ObjectNotFound,
				Message: fmt.Sprintf("customRef names ResultMaterialize %q, which does not exist in namespace %q", name, run.Namespace)}, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("getting ResultMaterialize %s/%s: %w", run.Namespace, name, err)
		}
		spec = *obj.Spec.DeepCopy()
	}
	if fe := spec.ApplyParams(run.Spec.Params); fe != nil {
		return nil, &materialize.Failure{Reason: reasons.InvalidSpec, Message: fe.Error()}, nil
	}
	spec.SetDefaults(ctx)
	if fe := spec.Validate(ctx); fe != nil {
		return nil, &materialize.Failure{Reason: reasons.InvalidSpec, Message: fe.Error()}, nil
	}
	return &resolved{workspace: spec.Workspace, plan: planFor(spec, config.FromContext(ctx))}, nil, nil
}

// planFor turns a valid, defaulted spec into a plan. Per-result values win
// over the spec's, which win over the cluster's.
func planFor(spec v1alpha1.ResultMaterializeSpec, cfg *config.Config) materialize.Plan {
	threshold := cfg.Threshold
	if spec.Threshold != "" {
		threshold, _ = materialize.ParseThreshold(spec.Threshold)
	}
	policy := cfg.DefaultOnOversize
	if spec.OnOversize != "" {
		policy = spec.OnOversize
	}
	plan := materialize.Plan{MaxInlineTotal: cfg.MaxInlineTotal}
	for _, rs := range spec.Results {
		res := materialize.Result{
			Name:        rs.Name,
			Path:        path.Join(spec.Directory, rs.Path),
			Threshold:   threshold,
			OnOversize:  policy,
			Optional:    rs.Optional,
			Default:     rs.Default,
			Encoding:    rs.Encoding,
			TrimNewline: rs.TrimNewline,
		}
		if rs.Threshold != "" {
			res.Threshold, _ = materialize.ParseThreshold(rs.Threshold)
		}
		if rs.OnOversize != "" {
			res.OnOversize = rs.OnOversize
		}
		plan.Results = append(plan.Results, res)
	}
	return plan
}

package resultmaterialize

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/projection"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// resolved is a run's spec after the object or embedded spec, the params
// and the cluster defaults were combined.
type resolved struct {
	workspace string
	plan      materialize.Plan
}

// resolve combines, in increasing precedence, the named object or the
// embedded spec, and the run's params, then validates the result and
// fills in cluster defaults. A terminal Outcome names the field, the value
// and what is allowed; any other error is transient.
func (r *Reconciler) resolve(ctx context.Context, run *v1beta1.CustomRun) (*resolved, error) {
	var spec v1alpha1.ResultMaterializeSpec
	switch {
	case run.Spec.CustomSpec != nil:
		if raw := run.Spec.CustomSpec.Spec.Raw; len(raw) > 0 {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				return nil, outcome.Fail(reasons.InvalidSpec, "customSpec.spec is not a ResultMaterialize spec: %v", err)
			}
		}
	case run.Spec.CustomRef != nil && run.Spec.CustomRef.Name != "":
		obj, err := r.object(ctx, run.Namespace, run.Spec.CustomRef.Name)
		if err != nil {
			return nil, err
		}
		spec = *obj.Spec.DeepCopy()
	}
	if fe := spec.ApplyParams(params(run.Spec.Params)); fe != nil {
		return nil, outcome.Fail(reasons.InvalidSpec, "%s", fe.Error())
	}
	spec.SetDefaults(ctx)
	if fe := spec.Validate(ctx).Also(checkProjections(spec)); fe != nil {
		return nil, outcome.Fail(reasons.InvalidSpec, "%s", fe.Error())
	}
	cfg := config.FromContext(ctx)
	plan, err := planFor(spec, cfg)
	if err != nil {
		return nil, err
	}
	return &resolved{workspace: spec.Workspace, plan: plan}, nil
}

// params copies the run's params into the API package's own type.
func params(ps v1beta1.Params) []v1alpha1.Param {
	out := make([]v1alpha1.Param, len(ps))
	for i, p := range ps {
		out[i] = v1alpha1.Param{Name: p.Name, Type: string(p.Value.Type), StringVal: p.Value.StringVal, ArrayVal: p.Value.ArrayVal}
	}
	return out
}

// checkProjections compiles each jsonPath and expression, so that a
// syntax error fails the run before any reader pod starts. The API
// package cannot: it links no projection engine.
func checkProjections(spec v1alpha1.ResultMaterializeSpec) *apis.FieldError {
	var errs *apis.FieldError
	for i, r := range spec.Results {
		if !r.Projected() || (r.JSONPath != "" && r.Expression != "") {
			continue
		}
		field, value := "jsonPath", r.JSONPath
		if r.Expression != "" {
			field, value = "expression", r.Expression
		}
		if len(value) > resultmaterialize.MaxQueryLength {
			continue
		}
		if err := projection.Check(r.JSONPath, r.Expression, ""); err != nil {
			fe := &apis.FieldError{Message: fmt.Sprintf("invalid value: %s", value), Paths: []string{field}, Details: err.Error()}
			errs = errs.Also(fe.ViaFieldIndex("results", i))
		}
	}
	return errs
}

// object gets the named ResultMaterialize from the informer's cache and,
// on a miss, from the API: an object created together with its run may
// not be in the cache yet.
func (r *Reconciler) object(ctx context.Context, ns, name string) (*v1alpha1.ResultMaterialize, error) {
	obj, err := r.lister.ResultMaterializes(ns).Get(name)
	if apierrors.IsNotFound(err) {
		obj, err = r.objects.CustomV1alpha1().ResultMaterializes(ns).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, outcome.Fail(reasons.ObjectNotFound, "customRef names ResultMaterialize %q, which does not exist in namespace %q", name, ns)
	case err != nil:
		return nil, fmt.Errorf("getting ResultMaterialize %s/%s: %w", ns, name, err)
	}
	return obj, nil
}

// planFor turns a valid, defaulted spec into a plan; a threshold that does
// not parse (validation refuses it first) fails with InvalidSpec. Per-result values win
// over the spec's, which win over the cluster's.
func planFor(spec v1alpha1.ResultMaterializeSpec, cfg *config.Config) (materialize.Plan, error) {
	threshold := cfg.Threshold
	if spec.Threshold != "" {
		var err error
		if threshold, err = resultmaterialize.ParseThreshold(spec.Threshold); err != nil {
			return materialize.Plan{}, outcome.Fail(reasons.InvalidSpec, "threshold: %v", err)
		}
	}
	policy := cfg.DefaultOnOversize
	if spec.OnOversize != "" {
		policy = spec.OnOversize
	}
	retain := cmp.Or(spec.Retain, cfg.Retain.Default)
	provenance := cfg.Retain.Provenance
	if spec.Provenance != nil {
		provenance = *spec.Provenance
	}
	plan := materialize.Plan{MaxInlineTotal: cfg.MaxInlineTotal, MaxProjectionBytes: cfg.MaxProjectionBytes}
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
			Type:        rs.Type,
			Format:      rs.Format,
			JSONPath:    rs.JSONPath,
			Expression:  rs.Expression,
		}
		if cmp.Or(rs.Retain, retain) == resultmaterialize.RetainOCI {
			res.Retain, res.Provenance = resultmaterialize.RetainOCI, provenance
		}
		if rs.Threshold != "" {
			var err error
			if res.Threshold, err = resultmaterialize.ParseThreshold(rs.Threshold); err != nil {
				return materialize.Plan{}, outcome.Fail(reasons.InvalidSpec, "results[%s].threshold: %v", rs.Name, err)
			}
		}
		if rs.OnOversize != "" {
			res.OnOversize = rs.OnOversize
		}
		plan.Results = append(plan.Results, res)
	}
	return plan, nil
}

package v1alpha1

import (
	"context"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	schemacel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// apiServer validates a ResultMaterialize as the API server does on
// create, with the API server's own code and the shipped CRD: unknown
// fields and nulls dropped, then the OpenAPI schema (maxLength in
// characters, enums, patterns, required), then, unless the schema found
// an error that blocks them, the CEL rules under the API server's cost
// limits.
type apiServer struct {
	structural *structuralschema.Structural
	schema     schemavalidation.SchemaValidator
	rules      *schemacel.Validator
}

func newAPIServer(t testing.TB) apiServer {
	t.Helper()
	crd := loadCRD(t)
	var internal apiextensions.CustomResourceValidation
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(crd.Spec.Versions[0].Schema, &internal, nil); err != nil {
		t.Fatalf("converting the CRD's schema: %v", err)
	}
	structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		t.Fatalf("the CRD's schema is not structural: %v", err)
	}
	schema, _, err := schemavalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		t.Fatalf("building the CRD's schema validator: %v", err)
	}
	return apiServer{structural: structural, schema: schema, rules: schemacel.NewValidator(structural, true, celconfig.PerCallLimit)}
}

// create returns the errors the API server gives for creating obj.
func (a apiServer) create(obj map[string]any) field.ErrorList {
	structuralpruning.Prune(obj, a.structural, true)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, a.structural)
	errs := schemavalidation.ValidateCustomResource(nil, obj, a.schema)
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			// The API server skips the CEL rules after these.
			return errs
		}
	}
	ruleErrs, _ := a.rules.Validate(context.Background(), nil, a.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, ruleErrs...)
}

// object is a ResultMaterialize holding spec as decoded from YAML or
// JSON; a nil spec leaves the field out.
func object(spec map[string]any) map[string]any {
	obj := map[string]any{
		"apiVersion": SchemeGroupVersion.String(),
		"kind":       "ResultMaterialize",
		"metadata":   map[string]any{"name": "table", "namespace": "default"},
	}
	if spec != nil {
		obj["spec"] = spec
	}
	return obj
}

// TestShippedCRDIsAccepted: the API server accepts the CRD itself: every
// rule compiles and the estimated cost of its rules is within the API
// server's limits, so `kubectl apply` of config/ does not fail.
func TestShippedCRDIsAccepted(t *testing.T) {
	crd := loadCRD(t)
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&crd)
	crd.Status.StoredVersions = []string{crd.Spec.Versions[0].Name}
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&crd, &internal, nil); err != nil {
		t.Fatal(err)
	}
	for _, err := range crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal) {
		t.Error(err)
	}
}

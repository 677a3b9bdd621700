package v1alpha1

import (
	"context"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// InvalidSpec is one row of testdata/invalid-specs.yaml.
type InvalidSpec struct {
	Case  string                `json:"case"`
	Field string                `json:"field"`
	Spec  ResultMaterializeSpec `json:"spec"`
}

func invalidSpecs(t *testing.T) []InvalidSpec {
	t.Helper()
	raw, err := os.ReadFile("testdata/invalid-specs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var table []InvalidSpec
	if err := yaml.UnmarshalStrict(raw, &table); err != nil {
		t.Fatal(err)
	}
	return table
}

// TestInvalidSpecsTable: the Go validation refuses every spec the API
// server's schema refuses, naming the same field.
func TestInvalidSpecsTable(t *testing.T) {
	for _, tc := range invalidSpecs(t) {
		t.Run(tc.Case, func(t *testing.T) {
			rm := &ResultMaterialize{Spec: tc.Spec}
			err := rm.Validate(context.Background())
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tc.Field)
			}
			if !strings.Contains(err.Error(), tc.Field) {
				t.Errorf("Validate() = %q, want it to name %s", err.Error(), tc.Field)
			}
		})
	}
}

// TestValidSpecAccepted: the spec the e2e suite shows the API server
// accepts passes the Go validation too.
func TestValidSpecAccepted(t *testing.T) {
	raw, err := os.ReadFile("testdata/valid-spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rm ResultMaterialize
	if err := yaml.UnmarshalStrict(raw, &rm.Spec); err != nil {
		t.Fatal(err)
	}
	if err := rm.Validate(context.Background()); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

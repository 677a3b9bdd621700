package v1alpha1

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// specRow is one row of testdata/invalid-specs.yaml (with the field its
// error names) or testdata/valid-specs.yaml (without).
type specRow struct {
	Case  string          `json:"case"`
	Field string          `json:"field,omitempty"`
	Spec  json.RawMessage `json:"spec,omitempty"`
}

// loadSpecs reads a table. Each row's spec is decoded twice: strictly into
// the Go type, so a typo fails, and as the API server receives it from
// kubectl, where a field set to "" or null is still there.
func loadSpecs(t *testing.T, file string) (rows []specRow, specs []ResultMaterializeSpec, objects []map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &rows); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, row := range rows {
		var spec ResultMaterializeSpec
		var asSent map[string]any
		if len(row.Spec) > 0 {
			dec := json.NewDecoder(bytes.NewReader(row.Spec))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&spec); err != nil {
				t.Fatalf("%s: %s: %v", file, row.Case, err)
			}
			if err := utiljson.Unmarshal(row.Spec, &asSent); err != nil {
				t.Fatalf("%s: %s: %v", file, row.Case, err)
			}
		}
		specs = append(specs, spec)
		objects = append(objects, object(asSent))
	}
	return rows, specs, objects
}

// TestInvalidSpecsTable: the Go validation and the shipped CRD, evaluated
// by the API server's own code, both refuse every spec of the table and
// name the same field. e2e TestInvalidSpecsRefusedByAPIServer feeds the
// same table to a real API server.
func TestInvalidSpecsTable(t *testing.T) {
	api := newAPIServer(t)
	rows, specs, objects := loadSpecs(t, "testdata/invalid-specs.yaml")
	for i, tc := range rows {
		t.Run(tc.Case, func(t *testing.T) {
			if tc.Field == "" {
				t.Fatal("the row names no field")
			}
			rm := &ResultMaterialize{Spec: specs[i]}
			if err := rm.Validate(context.Background()); err == nil {
				t.Errorf("Validate() = nil, want an error naming %s", tc.Field)
			} else if !strings.Contains(err.Error(), tc.Field) {
				t.Errorf("Validate() = %q, want it to name %s", err.Error(), tc.Field)
			}
			if errs := api.create(objects[i]); len(errs) == 0 {
				t.Errorf("the CRD accepts it, want an error naming %s", tc.Field)
			} else if !strings.Contains(errs.ToAggregate().Error(), tc.Field) {
				t.Errorf("the CRD refuses it with %q, want it to name %s", errs.ToAggregate().Error(), tc.Field)
			}
		})
	}
}

// TestValidSpecsTable: the Go validation and the shipped CRD both accept
// every spec of the table, each at a limit or next to a refused row.
func TestValidSpecsTable(t *testing.T) {
	api := newAPIServer(t)
	rows, specs, objects := loadSpecs(t, "testdata/valid-specs.yaml")
	for i, tc := range rows {
		t.Run(tc.Case, func(t *testing.T) {
			if tc.Field != "" {
				t.Fatalf("a valid row names field %s", tc.Field)
			}
			rm := &ResultMaterialize{Spec: specs[i]}
			if err := rm.Validate(context.Background()); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if errs := api.create(objects[i]); len(errs) > 0 {
				t.Errorf("the CRD refuses it: %v", errs.ToAggregate())
			}
		})
	}
}

//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	rmversioned "github.com/resultmaterialize/controller/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// TestInvalidSpecsRefusedByAPIServer feeds the tables the Go validation and
// the offline CRD evaluation are tested with (pkg/apis/.../testdata) to the
// API server: each object of invalid-specs.yaml is refused at create time,
// with a message naming the field; each of valid-specs.yaml is accepted.
func TestInvalidSpecsRefusedByAPIServer(t *testing.T) {
	ctx, _, ns := setup(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	objects := rmversioned.NewForConfigOrDie(cfg).CustomV1alpha1().ResultMaterializes(ns)
	raw, err := os.ReadFile("../../pkg/apis/resultmaterialize/v1alpha1/testdata/invalid-specs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var table []struct {
		Case  string                         `json:"case"`
		Field string                         `json:"field"`
		Spec  v1alpha1.ResultMaterializeSpec `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(raw, &table); err != nil {
		t.Fatal(err)
	}
	for _, tc := range table {
		t.Run(tc.Case, func(t *testing.T) {
			obj := &v1alpha1.ResultMaterialize{ObjectMeta: metav1.ObjectMeta{Name: "bad-" + rand.String(6)}, Spec: tc.Spec}
			_, err := objects.Create(ctx, obj, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create = %v, want Invalid naming %s", err, tc.Field)
			}
			if !strings.Contains(err.Error(), tc.Field) {
				t.Errorf("create = %q, want it to name %s", err.Error(), tc.Field)
			}
		})
	}
	validRaw, err := os.ReadFile("../../pkg/apis/resultmaterialize/v1alpha1/testdata/valid-specs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var valid []struct {
		Case string                         `json:"case"`
		Spec v1alpha1.ResultMaterializeSpec `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(validRaw, &valid); err != nil {
		t.Fatal(err)
	}
	for _, tc := range valid {
		t.Run(tc.Case, func(t *testing.T) {
			obj := &v1alpha1.ResultMaterialize{ObjectMeta: metav1.ObjectMeta{Name: "good-" + rand.String(6)}, Spec: tc.Spec}
			if _, err := objects.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
				t.Errorf("a valid spec was refused: %v", err)
			}
		})
	}
}

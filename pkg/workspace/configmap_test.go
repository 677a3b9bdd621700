package workspace

import (
	"context"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/outcome"
	"github.com/resultmaterialize/controller/pkg/reasons"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestProjectionsAboveTheControllerMemoryFail checks that ConfigMap
// projections whose memory estimate is above the controller's whole
// budget fail at once, naming both, and hold nothing of it.
func TestProjectionsAboveTheControllerMemoryFail(t *testing.T) {
	doc := `{"a":[` + strings.Repeat(`{"k":0},`, 10000) + `{"k":0}]}`
	kube := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "docs", Namespace: "ns"}, Data: map[string]string{"doc.json": doc}})
	memory := NewMemory(1 << 20)
	src := &ConfigMapSource{Kube: kube, Memory: memory}
	run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns"}}
	binding := v1beta1.WorkspaceBinding{Name: "ws", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "docs"}}}
	plan := materialize.Plan{MaxInlineTotal: 1 << 10, MaxProjectionBytes: 64 << 20, Results: []materialize.Result{{
		Name: "n", Path: "doc.json", Threshold: 100, OnOversize: resultmaterialize.PolicyReference, Encoding: resultmaterialize.EncodingText,
		Type: resultmaterialize.TypeString, Expression: "size(doc.a) > 0"}}}
	_, err := src.Read(context.Background(), Attempt{Run: run, Binding: binding, Plan: plan})
	o := outcome.As(err)
	if o == nil || o.Kind != outcome.Terminal || o.Reason != reasons.ProjectionTooLarge || !strings.Contains(o.Message, "above its whole budget of 1048576 bytes") {
		t.Fatalf("Read = %v, want a terminal %s naming the budget", err, reasons.ProjectionTooLarge)
	}
	release, ok := memory.Hold(memory.Size())
	if !ok {
		t.Fatal("the failed run kept part of the budget")
	}
	release()
}

// TestSmallProjectionsFitTheControllerMemory checks that many small
// files, each projected with CEL, need the largest file's estimate, not
// the sum, and fit the default budget.
func TestSmallProjectionsFitTheControllerMemory(t *testing.T) {
	data := map[string]string{}
	plan := materialize.Plan{MaxInlineTotal: 1 << 10, MaxProjectionBytes: 64 << 20}
	for i := range 13 {
		key := fmt.Sprintf("k%02d.json", i)
		data[key] = `{"a":"b"}`
		plan.Results = append(plan.Results, materialize.Result{Name: fmt.Sprintf("r%02d", i), Path: key, Threshold: 100,
			OnOversize: resultmaterialize.PolicyReference, Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString, Expression: "doc.a"})
	}
	kube := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "docs", Namespace: "ns"}, Data: data})
	src := &ConfigMapSource{Kube: kube, Memory: NewMemory(DefaultMemory)}
	run := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns"}}
	binding := v1beta1.WorkspaceBinding{Name: "ws", ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "docs"}}}
	found, err := src.Read(context.Background(), Attempt{Run: run, Binding: binding, Plan: plan})
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	out, err := materialize.Materialize(plan, found.Reports)
	if err != nil || out.Values[0].Value != "b" {
		t.Fatalf("Materialize = %v, %v; want r00 = b", out.Values, err)
	}
}

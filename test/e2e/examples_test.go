//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	rmversioned "github.com/resultmaterialize/controller/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
)

// example returns the YAML documents of examples/<name>, as they are,
// split as kubectl splits them.
func example(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile("../../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(doc))
	}
}

// TestCustomRunConfigMapExample applies examples/customrun-configmap.yaml
// as it is: its 5-byte version is inline under the 32-byte threshold param,
// its release note is a reference, and no reader pod is made.
func TestCustomRunConfigMapExample(t *testing.T) {
	ctx, c, ns := setup(t)
	docs := example(t, "customrun-configmap.yaml")
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the ConfigMap and the CustomRun", len(docs))
	}
	var cm corev1.ConfigMap
	decode(t, docs[0], &cm)
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Create(ctx, &cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run, cond := createCustomRun(ctx, t, c, ns, docs[1])
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("CustomRun %s %q, want Succeeded", cond.Reason, cond.Message)
	}
	notes := cm.Data["notes"]
	r := results(run)
	if r["version"] != "1.4.2" || r["version-inline"] != "true" || r["notes"] != "notes" || r["notes-inline"] != "false" ||
		r["notes-size"] != fmt.Sprint(len(notes)) {
		t.Errorf("results %v, want version 1.4.2 inline and notes (%d bytes) a reference", r, len(notes))
	}
	if pods := readerPods(ctx, t, c, ns); len(pods) != 0 {
		t.Errorf("%d reader pods, want none for a ConfigMap", len(pods))
	}
}

// TestResultMaterializeExample applies examples/resultmaterialize.yaml as
// it is, over the ConfigMap of examples/customrun-configmap.yaml that it
// names: the CustomRun takes its spec from the named object, so the
// release note is inline under its 1Ki threshold.
func TestResultMaterializeExample(t *testing.T) {
	ctx, c, ns := setup(t)
	var cm corev1.ConfigMap
	decode(t, example(t, "customrun-configmap.yaml")[0], &cm)
	if _, err := c.kube.CoreV1().ConfigMaps(ns).Create(ctx, &cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	docs := example(t, "resultmaterialize.yaml")
	if len(docs) != 2 {
		t.Fatalf("%d documents, want the ResultMaterialize and the CustomRun", len(docs))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	var obj v1alpha1.ResultMaterialize
	decode(t, docs[0], &obj)
	if _, err := rmversioned.NewForConfigOrDie(cfg).CustomV1alpha1().ResultMaterializes(ns).Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run, cond := createCustomRun(ctx, t, c, ns, docs[1])
	if cond.Status != corev1.ConditionTrue {
		t.Fatalf("CustomRun %s %q, want Succeeded", cond.Reason, cond.Message)
	}
	r := results(run)
	if r["version"] != "1.4.2" || r["notes"] != cm.Data["notes"] || r["notes-inline"] != "true" {
		t.Errorf("results %v, want version 1.4.2 and the release note inline", r)
	}
}

package rmat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/artifact"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestExportedFromTheRegistry: an exported result whose claim is gone is
// listed at its artifact, which exists, and cat writes it from the
// registry, verified; a digest the registry does not hold is an error;
// once the artifact is deleted ls says gone.
func TestExportedFromTheRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/results"
	data := bytes.Repeat([]byte("weights "), 100000)
	h := sha256.Sum256(data)
	f := artifact.File{Name: "model", Path: "model.bin", Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])}
	target := protocol.ExportTarget{Repository: repo, Annotations: map[string]string{artifact.AnnotationNamespace: "ns", artifact.AnnotationRun: "exported"}}
	digest, err := artifact.Push(context.Background(), target, authn.Anonymous, f, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uri := resultmaterialize.ArtifactURI(repo, digest)
	run := materializeRun(t, "exported", "materialize", claim("pvc-gone", ""), corev1.ConditionTrue,
		resultmaterialize.Row{Name: "model", Path: "model.bin", Size: f.Size, SHA256: f.SHA256, Reason: resultmaterialize.Reference, URI: uri})
	c := Clients{Kube: fake.NewClientset(), Registry: Registry{Insecure: true}}
	entries, err := List(context.Background(), c, []v1beta1.CustomRun{*run})
	if err != nil || len(entries) != 1 {
		t.Fatalf("List = %+v, %v", entries, err)
	}
	if e := entries[0]; e.Location != uri || e.Exists != "yes" || e.Surfaced != "reference, exported" {
		t.Errorf("entry %+v; want the artifact, existing, surfaced as exported", e)
	}
	var out bytes.Buffer
	if err := Cat(context.Background(), c, Fetch{}, run, entries[0], &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("Cat = %d bytes, %v; want the %d bytes pushed", out.Len(), err, len(data))
	}
	changed := entries[0]
	changed.fileSHA256 = strings.Repeat("0", 64)
	if err := Cat(context.Background(), c, Fetch{}, run, changed, io.Discard); err == nil {
		t.Errorf("Cat of a layer that is not the run's digest succeeded")
	}
	if err := artifact.Delete(context.Background(), uri, true, authn.Anonymous, artifact.Owner{Namespace: "ns", Run: "exported"}); err != nil {
		t.Fatal(err)
	}
	entries, err = List(context.Background(), c, []v1beta1.CustomRun{*run})
	if err != nil || entries[0].Exists != "gone" {
		t.Errorf("after the artifact was deleted: %+v, %v; want gone", entries, err)
	}
}

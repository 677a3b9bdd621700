package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/resultmaterialize/controller/pkg/reasons"
)

// counting is an in-memory registry that counts the requests it gets by
// method and kind (blobs/uploads, blobs, manifests), and lets a test
// answer some requests itself.
type counting struct {
	mu       sync.Mutex
	requests map[string]int
	answer   func(w http.ResponseWriter, r *http.Request) bool
	inner    http.Handler
}

func newRegistry(t *testing.T) (*counting, string) {
	c := &counting{requests: map[string]int{}, inner: registry.New(registry.Logger(nopLogger()))}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, strings.TrimPrefix(srv.URL, "http://") + "/results"
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := "manifests"
	switch {
	case strings.Contains(r.URL.Path, "/blobs/uploads"):
		kind = "uploads"
	case strings.Contains(r.URL.Path, "/blobs/"):
		kind = "blobs"
	}
	c.mu.Lock()
	c.requests[r.Method+" "+kind]++
	c.mu.Unlock()
	if c.answer != nil && c.answer(w, r) {
		return
	}
	c.inner.ServeHTTP(w, r)
}

func (c *counting) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[key]
}

// owner is the run target's artifacts belong to.
var owner = Owner{Namespace: "ns", Run: "run-1"}

func fileOf(name string, data []byte) (File, Opener) {
	sum := sha256.Sum256(data)
	return File{Name: name, Path: "out/" + name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])},
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func target(repo string) protocol.ExportTarget {
	return protocol.ExportTarget{Repository: repo, Annotations: map[string]string{AnnotationNamespace: "ns", AnnotationRun: "run-1", AnnotationTask: "materialize"}}
}

// TestPushThenVerify: the artifact's manifest has our type and one
// uncompressed layer whose digest is the file's sha256, the layer holds
// the file's bytes, and Verify accepts it.
func TestPushThenVerify(t *testing.T) {
	_, repo := newRegistry(t)
	data := bytes.Repeat([]byte("model "), 200000)
	f, open := fileOf("model", data)
	digest, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
	if err != nil {
		t.Fatal(err)
	}
	uri := resultmaterialize.ArtifactURI(repo, digest)
	ref, err := Repository(protocol.ExportTarget{Repository: repo})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref.Digest(digest))
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != ArtifactType || len(m.Layers) != 1 || m.Layers[0].Digest.Hex != f.SHA256 || m.Layers[0].MediaType != LayerMediaType ||
		m.Annotations[AnnotationResult] != "model" || m.Annotations[AnnotationRun] != "run-1" || m.Layers[0].Annotations[AnnotationTitle] != "model" {
		t.Fatalf("manifest %s", desc.Manifest)
	}
	layer, err := remote.Layer(ref.Digest("sha256:" + f.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the layer holds %d bytes (%v), want the file's %d", len(got), err, len(data))
	}
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, owner); err != nil {
		t.Errorf("Verify(%s) = %v", uri, err)
	}
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, Owner{Namespace: "ns", Run: "run-2"}); !errors.Is(err, ErrUnverified) {
		t.Errorf("Verify for another run = %v, want ErrUnverified: a reader's word never publishes another run's artifact", err)
	}
	other, _ := fileOf("model", []byte("other"))
	if err := Verify(context.Background(), uri, false, authn.Anonymous, other, owner); !errors.Is(err, ErrUnverified) {
		t.Errorf("Verify of another file = %v, want ErrUnverified", err)
	}
}

// TestPushTwiceSendsNothingNew: the same artifact again starts no
// upload, nor does the same file under another run, which gets a
// manifest and tag of its own.
func TestPushTwiceSendsNothingNew(t *testing.T) {
	reg, repo := newRegistry(t)
	f, open := fileOf("big", bytes.Repeat([]byte{7}, 1<<20))
	first, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
	if err != nil {
		t.Fatal(err)
	}
	uploads := reg.count("POST uploads")
	again, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
	if err != nil || again != first {
		t.Fatalf("second push = %s, %v; want %s", again, err, first)
	}
	other := target(repo)
	other.Annotations = map[string]string{AnnotationRun: "run-2"}
	third, err := Push(context.Background(), other, authn.Anonymous, f, open)
	if err != nil || third == first {
		t.Fatalf("push for another run = %s, %v; want a manifest of its own", third, err)
	}
	if got := reg.count("POST uploads"); got != uploads || uploads != 2 {
		t.Errorf("blob uploads: %d for the first push, %d after three; want 2 (config and file) and no more", uploads, got)
	}
}

// TestPushRefusesAChangedFile: bytes other than the file's digest stop
// the upload before its commit, with ExportUnverified.
func TestPushRefusesAChangedFile(t *testing.T) {
	reg, repo := newRegistry(t)
	f, _ := fileOf("model", []byte("what was read"))
	changed := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("what is there")), nil }
	_, err := Push(context.Background(), target(repo), authn.Anonymous, f, changed)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("Push = %v, want ErrChanged", err)
	}
	if fe := Failure(repo, err); fe.Reason != reasons.ExportUnverified {
		t.Errorf("reason %s, want ExportUnverified", fe.Reason)
	}
	if got := reg.count("PUT uploads"); got != 1 {
		t.Errorf("%d blob commits, want 1 (the config only)", got)
	}
	grown := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("what was read, and more")), nil }
	if _, err := Push(context.Background(), target(repo), authn.Anonymous, f, grown); !errors.Is(err, ErrChanged) {
		t.Errorf("Push of a grown file = %v, want ErrChanged", err)
	}
}

// TestPushFailures: what a registry answers becomes the export's reason.
func TestPushFailures(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   reasons.Reason
	}{
		{http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, reasons.ExportRefused},
		{http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, reasons.ExportRefused},
		{http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"quota exceeded for project"}]}`, reasons.ExportTooLarge},
		{http.StatusRequestEntityTooLarge, `{"errors":[{"code":"SIZE_INVALID","message":"too large"}]}`, reasons.ExportTooLarge},
		{http.StatusServiceUnavailable, `{"errors":[{"code":"UNAVAILABLE","message":"down"}]}`, reasons.ExportUnavailable},
		{http.StatusRequestEntityTooLarge, `{"errors":[{"code":"UNKNOWN","message":"blob too large"}]}`, reasons.ExportTooLarge},
		{http.StatusBadRequest, `{"errors":[{"code":"UNKNOWN","message":"storage quota reached"}]}`, reasons.ExportTooLarge},
		{http.StatusForbidden, `{"errors":[{"code":"UNKNOWN","message":"no"}]}`, reasons.ExportRefused},
	} {
		reg, repo := newRegistry(t)
		reg.answer = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
			return true
		}
		f, open := fileOf("model", []byte("bytes"))
		_, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
		fe := Failure(repo, err)
		if err == nil || fe.Reason != tc.want || !strings.Contains(fe.Message, repo) {
			t.Errorf("a registry answering %d %s: %v gives %s %q, want %s naming the repository", tc.status, tc.body, err, fe.Reason, fe.Message, tc.want)
		}
	}
	if fe := Failure("r", errors.New("dial tcp: connection refused")); fe.Reason != reasons.ExportUnavailable {
		t.Errorf("a registry that is down gives %s, want ExportUnavailable", fe.Reason)
	}
}

// TestVerifyALyingRegistry: a manifest whose layer the registry does not
// hold, or bytes that are not the digest asked for, are unverified.
func TestVerifyALyingRegistry(t *testing.T) {
	reg, repo := newRegistry(t)
	f, open := fileOf("model", []byte("bytes"))
	digest, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
	if err != nil {
		t.Fatal(err)
	}
	uri := resultmaterialize.ArtifactURI(repo, digest)
	reg.answer = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/blobs/sha256:"+f.SHA256) {
			w.WriteHeader(http.StatusNotFound)
			return true
		}
		return false
	}
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, owner); !errors.Is(err, ErrUnverified) {
		t.Errorf("Verify with the layer missing = %v, want ErrUnverified", err)
	}
	reg.answer = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			_, _ = w.Write([]byte(`{"schemaVersion":2,"layers":[]}`))
			return true
		}
		return false
	}
	err = Verify(context.Background(), uri, false, authn.Anonymous, f, owner)
	if !errors.Is(err, ErrUnverified) || Failure(repo, err).Reason != reasons.ExportUnverified {
		t.Errorf("Verify of other manifest bytes = %v, want ErrUnverified", err)
	}
}

// TestDeleteThenGone: Delete removes the manifest; deleting it again is
// no error; another run's artifact is not deleted.
func TestDeleteThenGone(t *testing.T) {
	_, repo := newRegistry(t)
	f, open := fileOf("model", []byte("bytes"))
	digest, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
	if err != nil {
		t.Fatal(err)
	}
	uri := resultmaterialize.ArtifactURI(repo, digest)
	if err := Delete(context.Background(), uri, false, authn.Anonymous, Owner{Namespace: "other", Run: "run-1"}); !errors.Is(err, ErrUnverified) {
		t.Fatalf("Delete for another namespace's run = %v, want ErrUnverified", err)
	}
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, owner); err != nil {
		t.Fatalf("the artifact is gone after a refused Delete: %v", err)
	}
	if err := Delete(context.Background(), uri, false, authn.Anonymous, owner); err != nil {
		t.Fatal(err)
	}
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, owner); !errors.Is(err, ErrUnverified) {
		t.Errorf("Verify after Delete = %v, want ErrUnverified", err)
	}
	if err := Delete(context.Background(), uri, false, authn.Anonymous, owner); err != nil {
		t.Errorf("second Delete = %v, want nil: the artifact is already gone", err)
	}
}

// TestParseCredentials: auth and username/password entries, by host.
func TestParseCredentials(t *testing.T) {
	raw := []byte(`{"auths":{"https://registry.example:5000/v1/":{"auth":"dXNlcjpwYXNz"},"docker.io":{"username":"u","password":"p"}}}`)
	creds, err := ParseCredentials(raw)
	if err != nil {
		t.Fatal(err)
	}
	if a := creds["registry.example:5000"]; a.Username != "user" || a.Password != "pass" {
		t.Errorf("registry.example:5000 = %+v", a)
	}
	if a := creds["index.docker.io"]; a.Username != "u" {
		t.Errorf("docker.io = %+v", a)
	}
	for _, bad := range []string{`{`, `{"auths":{"r":{"auth":"!!"}}}`, `{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}`} {
		if _, err := ParseCredentials([]byte(bad)); err == nil {
			t.Errorf("ParseCredentials(%s) accepted it", bad)
		}
	}
	if creds, err := ParseCredentials(nil); err != nil || len(creds) != 0 {
		t.Errorf("no config = %v, %v; want no credentials", creds, err)
	}
}

// TestPushRepairsALostLayer: a manifest whose layer the registry lost
// fails Verify; pushing again sends the layer, and it verifies.
func TestPushRepairsALostLayer(t *testing.T) {
	reg, repo := newRegistry(t)
	f, open := fileOf("model", []byte("bytes to keep"))
	digest, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodDelete, "http://"+strings.TrimSuffix(repo, "/results")+"/v2/results/blobs/sha256:"+f.SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting the layer: %s", resp.Status)
	}
	uri := resultmaterialize.ArtifactURI(repo, digest)
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, owner); !errors.Is(err, ErrUnverified) {
		t.Fatalf("Verify with the layer lost = %v, want ErrUnverified", err)
	}
	uploads := reg.count("POST uploads")
	if again, err := Push(context.Background(), target(repo), authn.Anonymous, f, open); err != nil || again != digest {
		t.Fatalf("Push again = %s, %v", again, err)
	}
	if err := Verify(context.Background(), uri, false, authn.Anonymous, f, owner); err != nil || reg.count("POST uploads") != uploads+1 {
		t.Errorf("after pushing again: Verify %v, %d uploads; want the layer sent once more", err, reg.count("POST uploads")-uploads)
	}
}

// TestTag: a tag registries accept, unique to the namespace, run and
// result, within 128 characters.
func TestTag(t *testing.T) {
	a := Tag("model", target("r"))
	other := target("r")
	other.Annotations[AnnotationNamespace] = "other"
	long := Tag(strings.Repeat("x", 63), protocol.ExportTarget{Annotations: map[string]string{AnnotationRun: strings.Repeat("r", 63)}})
	tagFormat := regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	if !strings.HasPrefix(a, "run-1.model-") || a == Tag("model", other) || !tagFormat.MatchString(a) || !tagFormat.MatchString(long) {
		t.Errorf("tags %q, %q, %q", a, Tag("model", other), long)
	}
}

// TestPushWithImmutableTags: a registry that refuses to move or rewrite a
// tag still gets the artifact by digest, on the first push and a retried
// one; Delete removes the tag and the manifest.
func TestPushWithImmutableTags(t *testing.T) {
	reg, repo := newRegistry(t)
	tagged := map[string]bool{}
	reg.answer = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") || strings.Contains(r.URL.Path, "sha256:") {
			return false
		}
		if tagged[r.URL.Path] {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":[{"code":"TAG_INVALID","message":"the tag is immutable"}]}`))
			return true
		}
		tagged[r.URL.Path] = true
		return false
	}
	f, open := fileOf("model", []byte("bytes"))
	for i := range 2 {
		digest, err := Push(context.Background(), target(repo), authn.Anonymous, f, open)
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if err := Verify(context.Background(), resultmaterialize.ArtifactURI(repo, digest), false, authn.Anonymous, f, owner); err != nil {
			t.Fatalf("push %d: Verify = %v", i, err)
		}
	}
	ref, err := Repository(protocol.ExportTarget{Repository: repo})
	if err != nil {
		t.Fatal(err)
	}
	tag := ref.Tag(Tag("model", target(repo)))
	desc, err := remote.Head(tag)
	if err != nil {
		t.Fatalf("the artifact's tag %s: %v", tag, err)
	}
	if err := Delete(context.Background(), resultmaterialize.ArtifactURI(repo, desc.Digest.String()), false, authn.Anonymous, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(tag); !NotFound(err) {
		t.Errorf("the tag after Delete: %v, want 404", err)
	}
}

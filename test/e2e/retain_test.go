//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/rmat"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// registry is the harness's registry as the host and pods reach it, and
// its request log (hack/cluster.sh env).
type registry struct{ host, pod, log string }

func registries(t *testing.T) registry {
	r := registry{os.Getenv("RM_E2E_REGISTRY"), os.Getenv("RM_E2E_POD_REGISTRY"), os.Getenv("RM_E2E_REGISTRY_LOG")}
	if r.host == "" || r.pod == "" {
		if os.Getenv("RM_E2E_OBJECT_STORE") == "required" {
			t.Fatal("RM_E2E_REGISTRY and RM_E2E_POD_REGISTRY are unset: eval \"$(hack/cluster.sh env)\"")
		}
		t.Skip("no registry reachable from pods: RM_E2E_REGISTRY and RM_E2E_POD_REGISTRY are unset (hack/cluster.sh env sets them)")
	}
	return r
}

// uploads counts the blob uploads the registry was asked to start in repo.
func (r registry) uploads(t *testing.T, repo string) int {
	t.Helper()
	raw, err := os.ReadFile(r.log)
	if err != nil {
		t.Fatalf("reading the registry's log: %v", err)
	}
	path := strings.TrimPrefix(repo, r.pod)
	return strings.Count(string(raw), "POST /v2"+path+"/blobs/uploads/")
}

// fetch reads the artifact at uri through the host's address: its
// manifest, and its one layer's bytes hashed.
func (r registry) fetch(ctx context.Context, t *testing.T, uri string) (m v1.Manifest, size int64, sum string) {
	t.Helper()
	repoName, digest := resultmaterialize.SplitURI(uri)
	if !strings.HasPrefix(repoName, r.pod+"/") {
		t.Fatalf("%s is not in the harness's registry %s", uri, r.pod)
	}
	repo, err := name.NewRepository(r.host+strings.TrimPrefix(repoName, r.pod), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(repo.Digest(digest), remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("getting %s: %v", uri, err)
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("%s: manifest %s: %v", uri, desc.Manifest, err)
	}
	layer, err := remote.Layer(repo.Digest(m.Layers[0].Digest.String()), remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if size, err = io.Copy(h, rc); err != nil {
		t.Fatalf("reading the layer of %s: %v", uri, err)
	}
	return m, size, hex.EncodeToString(h.Sum(nil))
}

// gone says whether the artifact at uri no longer resolves.
func (r registry) gone(ctx context.Context, uri string) bool {
	repoName, digest := resultmaterialize.SplitURI(uri)
	repo, err := name.NewRepository(r.host+strings.TrimPrefix(repoName, r.pod), name.Insecure)
	if err != nil {
		return false
	}
	_, err = remote.Head(repo.Digest(digest), remote.WithContext(ctx))
	return err != nil && strings.Contains(err.Error(), "404")
}

func retainRun(t *testing.T, name, seed string, big int) string {
	return render(t, "retain.yaml", struct {
		Name, Seed string
		BigBytes   int
	}{name, seed, big})
}

func pipelineResult(pr *pipelinev1.PipelineRun, name string) string {
	for _, r := range pr.Status.Results {
		if r.Name == name {
			return r.Value.StringVal
		}
	}
	return ""
}

var chainsDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// TestRetainOCIOutlivesTheClaim: a PipelineRun that asks Tekton to delete
// its claim once done exports its 5 MiB and 200 MiB results under retain:
// oci. After it succeeds the claim is gone and the artifacts fetched by
// their -uri hold the producer's bytes (its own sha256sum); the Pipeline
// results carry Chains' ARTIFACT_URI and ARTIFACT_DIGEST; the inline
// value has an empty -uri. The same content run again starts no blob
// upload. kubectl rmat lists big at its artifact and cats it from the
// registry, verified. Under oci-gc: onRunDeletion, deleting the second PipelineRun
// deletes its artifacts, not the first run's.
func TestRetainOCIOutlivesTheClaim(t *testing.T) {
	ctx, c, ns := setup(t)
	reg := registries(t)
	repo := reg.pod + "/e2e/" + ns
	setConfig(ctx, t, c, map[string]string{"oci-repository": repo, "oci-insecure": "true", "oci-gc": "onRunDeletion"})
	pr, cond := runPipeline(ctx, t, c, ns, retainRun(t, "retain", ns, 200<<20))
	if !cond.IsTrue() {
		t.Fatalf("PipelineRun: %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	got := results(customRunOf(ctx, t, c, ns, pr.Name))
	sums := strings.Fields(pipelineResult(pr, "sums"))
	if len(sums) != 2 {
		t.Fatalf("the producer's sums = %q", pipelineResult(pr, "sums"))
	}
	if got["approved"] != "true" || got["approved-uri"] != "" {
		t.Errorf("approved = %q with -uri %q, want true inline and no artifact", got["approved"], got["approved-uri"])
	}
	for i, res := range []string{"small", "big"} {
		uri := got[res+"-uri"]
		if !strings.HasPrefix(uri, resultmaterialize.URIScheme+repo+"@sha256:") {
			t.Fatalf("%s-uri = %q, want the artifact in %s by digest", res, uri, repo)
		}
		m, size, sum := reg.fetch(ctx, t, uri)
		if sum != sums[i] || got[res+"-sha256"] != sums[i] || m.Layers[0].Digest.Hex != sums[i] || got[res+"-size"] != strconv.FormatInt(size, 10) {
			t.Errorf("%s: artifact layer %s of %d bytes hashing to %s; the producer's sha256 %s, the run's %s and %s bytes", res, m.Layers[0].Digest, size, sum, sums[i], got[res+"-sha256"], got[res+"-size"])
		}
	}
	_, bigDigest := resultmaterialize.SplitURI(got["big-uri"])
	if u, d := pipelineResult(pr, "big-ARTIFACT_URI"), pipelineResult(pr, "big-ARTIFACT_DIGEST"); u != repo || d != bigDigest || !chainsDigest.MatchString(d) {
		t.Errorf("Pipeline results big-ARTIFACT_URI=%q big-ARTIFACT_DIGEST=%q, want %q and %q (sha256:HEX)", u, d, repo, bigDigest)
	}
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pvcs, err := c.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pvcs.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("the PipelineRun's claim is still there: Tekton deletes it under tekton.dev/auto-cleanup-pvc")
	}
	for _, res := range []string{"small", "big"} {
		if _, _, sum := reg.fetch(ctx, t, got[res+"-uri"]); sum != got[res+"-sha256"] {
			t.Errorf("%s: after the claim went, the artifact hashes to %s", res, sum)
		}
	}
	clients := rmat.Clients{Kube: c.kube, Tekton: c.tekton, Registry: rmat.Registry{Insecure: true}}
	runs, entries := listed(ctx, t, clients, ns, pr.Name)
	if len(runs) != 1 {
		t.Fatalf("kubectl rmat: runs %d, want the materialize run", len(runs))
	}
	big, err := rmat.Find(entries, "materialize.big")
	if err != nil || big.Location != got["big-uri"] || big.Exists != "yes" || big.Surfaced != "reference, exported" {
		t.Fatalf("kubectl rmat ls: big %+v, %v; want the artifact, existing", big, err)
	}
	h := sha256.New()
	if err := rmat.Cat(ctx, clients, rmat.Fetch{}, &runs[0], big, h); err != nil || hex.EncodeToString(h.Sum(nil)) != sums[1] {
		t.Errorf("kubectl rmat cat of big with its claim gone: %v, sha256 %x; want the producer's %s from the registry", err, h.Sum(nil), sums[1])
	}

	before := reg.uploads(t, repo)
	again, cond := runPipeline(ctx, t, c, ns, retainRun(t, "retain-again", ns, 200<<20))
	if !cond.IsTrue() {
		t.Fatalf("second PipelineRun: %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	if after := reg.uploads(t, repo); after != before {
		t.Errorf("the same content run again started %d blob uploads, want none", after-before)
	}
	second := results(customRunOf(ctx, t, c, ns, again.Name))
	if second["big-sha256"] != got["big-sha256"] || second["big-uri"] == got["big-uri"] {
		t.Errorf("second run: big %s at %s; want the same bytes in an artifact of its own run", second["big-sha256"], second["big-uri"])
	}
	if err := c.tekton.TektonV1().PipelineRuns(ns).Delete(ctx, again.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return reg.gone(ctx, second["small-uri"]) && reg.gone(ctx, second["big-uri"]), nil
	})
	if err != nil {
		t.Errorf("the deleted PipelineRun's artifacts %s and %s still resolve under oci-gc: onRunDeletion", second["small-uri"], second["big-uri"])
	}
	if reg.gone(ctx, got["big-uri"]) {
		t.Errorf("the first run's artifact %s went with the second run", got["big-uri"])
	}
}

// TestExportSurvivesControllerRestart: the controller's pods are deleted
// while the reader pod reads and exports a 200 MiB result; the run still
// succeeds with artifacts that hold the producer's bytes, and the
// registry was asked to commit each file's blob and each manifest once.
func TestExportSurvivesControllerRestart(t *testing.T) {
	ctx, c, ns := setup(t)
	reg := registries(t)
	repo := reg.pod + "/e2e/" + ns
	setConfig(ctx, t, c, map[string]string{"oci-repository": repo, "oci-insecure": "true"})
	name := createPipeline(ctx, t, c, ns, retainRun(t, "restart", ns, 200<<20))
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, p := range readerPods(ctx, t, c, ns) {
			if p.Status.Phase == "Running" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal("no reader pod ran")
	}
	pods, err := c.kube.CoreV1().Pods(controllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=controller"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("controller pods: %v (%d)", err, len(pods.Items))
	}
	for _, p := range pods.Items {
		if err := c.kube.CoreV1().Pods(controllerNamespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, cond := waitPipeline(ctx, t, c, ns, name)
	if !cond.IsTrue() {
		t.Fatalf("PipelineRun: %s %s %q", cond.Status, cond.Reason, cond.Message)
	}
	sums := strings.Fields(pipelineResult(got, "sums"))
	res := results(customRunOf(ctx, t, c, ns, name))
	if _, _, sum := reg.fetch(ctx, t, res["big-uri"]); len(sums) != 2 || sum != sums[1] {
		t.Errorf("big-uri %s hashes to %s, the producer's sha256 is %v", res["big-uri"], sum, sums)
	}
	raw, err := os.ReadFile(reg.log)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(repo, reg.pod)
	for i, name := range []string{"small", "big"} {
		// The digest is URL-encoded in the commit's query.
		if commits := strings.Count(string(raw), "?digest=sha256%3A"+sums[i]); commits != 1 {
			t.Errorf("the registry committed %s's blob %d times, want once", name, commits)
		}
	}
	// Each artifact is put by digest, then tagged.
	if manifests := strings.Count(string(raw), "PUT /v2"+path+"/manifests/sha256:"); manifests != 2 {
		t.Errorf("the registry was put %d manifests by digest, want 2: one artifact each for small and big", manifests)
	}
}

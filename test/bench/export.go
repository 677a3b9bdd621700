package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The export rows: a file of each size exported by a run under retain:
// oci, against the same file pushed by crane from this node (an OCI
// layout whose one layer is the file, so crane sends it as it is), to the
// same registry address the pods use, interleaved; each push starts with
// the blob deleted, so each one sends every byte. The export's time is
// the run's time under oci less its time under workspace, on the same
// file; the reader pod's anonymous memory is sampled from its cgroup.
const exportPairs = 3

var exportSizes = []int64{1 << 20, 100 << 20, 1 << 30}

// export measures the rows, or notes why it cannot.
func (e *env) export(ctx context.Context, r *report) error {
	host, pod := os.Getenv("RM_E2E_REGISTRY"), os.Getenv("RM_E2E_POD_REGISTRY")
	if host == "" || pod == "" {
		r.note("export rows skipped: RM_E2E_REGISTRY and RM_E2E_POD_REGISTRY are unset (hack/cluster.sh env)")
		return nil
	}
	repo := pod + "/bench/" + e.ns
	restore, err := e.setConfig(ctx, map[string]string{"oci-repository": repo, "oci-insecure": "true"})
	if err != nil {
		return err
	}
	defer restore()
	dir, err := e.claimDir(ctx)
	if err != nil {
		return err
	}
	for _, size := range exportSizes {
		file := fmt.Sprintf("export-%d", size)
		if err := e.writeFile(ctx, file, size); err != nil {
			return err
		}
		digest, err := fileDigest(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		var exports, cranes []time.Duration
		var anon int64
		for i := range exportPairs {
			var took [2]time.Duration
			for j, retain := range []resultmaterialize.Retain{resultmaterialize.RetainWorkspace, resultmaterialize.RetainOCI} {
				name := fmt.Sprintf("%s-%s-%d", file, retain, i)
				stop := e.sampleReader(ctx, name, &anon)
				took[j], err = e.one(ctx, key(kindRun, name), func(ctx context.Context) error { return e.createRun(ctx, retainRun(name, file, retain)) })
				stop()
				if err != nil {
					return err
				}
			}
			exports = append(exports, took[1]-took[0])
			if err := deleteBlob(ctx, host, "bench/"+e.ns, digest); err != nil {
				return err
			}
			// A tag of its own: crane sends nothing for a tag whose manifest
			// the registry has.
			d, err := cranePush(ctx, dir, file, digest, size, fmt.Sprintf("%s/bench/%s/crane:%s-%d", pod, e.ns, file, i))
			if err != nil {
				return err
			}
			cranes = append(cranes, d)
			if err := deleteBlob(ctx, host, "bench/"+e.ns+"/crane", digest); err != nil {
				return err
			}
		}
		export, crane := percentile(exports, 50), percentile(cranes, 50)
		r.row(fmt.Sprintf("export of %d MiB (the run under oci less under workspace) vs crane push of the same file, interleaved", size>>20), fmt.Sprint(exportPairs),
			secs(export)+" vs "+secs(crane), secs(percentile(exports, 90))+" vs "+secs(percentile(cranes, 90)), "-",
			fmt.Sprintf("throughput %s of crane's (p50); reader anonymous memory peak %.1f MiB", ratio(crane, export), float64(anon)/(1<<20)), ">= 0.5x, memory flat")
	}
	return nil
}

// retainRun reads file from the bench's claim under retain.
func retainRun(name, file string, retain resultmaterialize.Retain) *v1beta1.CustomRun {
	run := claimRun(name, claimName, file)
	run.Spec.Params = append(run.Spec.Params, v1beta1.Param{Name: "retain", Value: *v1beta1.NewStructuredValues(string(retain))})
	return run
}

// setConfig sets keys of config-materialize until the returned func.
func (e *env) setConfig(ctx context.Context, data map[string]string) (func(), error) {
	cms := e.kube.CoreV1().ConfigMaps(controllerNamespace)
	cm, err := cms.Get(ctx, "config-materialize", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	saved := cm.DeepCopy().Data
	for k, v := range data {
		cm.Data[k] = v
	}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return nil, err
	}
	time.Sleep(3 * time.Second)
	return func() {
		if cm, err := cms.Get(context.Background(), "config-materialize", metav1.GetOptions{}); err == nil {
			cm.Data = saved
			_, _ = cms.Update(context.Background(), cm, metav1.UpdateOptions{})
		}
	}, nil
}

// claimDir is where the bench's claim lives on this node.
func (e *env) claimDir(ctx context.Context) (string, error) {
	pv, err := e.volumeOf(ctx, claimName)
	if err != nil {
		return "", err
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("volume %s is not a local path on this node", pv.Name)
}

// volumeOf is the volume bound to claim in the bench's namespace.
func (e *env) volumeOf(ctx context.Context, claim string) (*corev1.PersistentVolume, error) {
	pvc, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return e.kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
}

// writeFile writes size random bytes to file in the claim.
func (e *env) writeFile(ctx context.Context, file string, size int64) error {
	name := "write-" + file
	if err := e.createPod(ctx, barePod(name, fmt.Sprintf("head -c %d /dev/urandom > /data/%s", size, file), false)); err != nil {
		return err
	}
	_, err := e.one(ctx, key(kindPod, name), func(context.Context) error { return nil })
	return err
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sampleReader keeps in peak the largest anonymous memory (rss in
// memory.stat) of run's reader pod's cgroup, sampled every 20 ms.
func (e *env) sampleReader(ctx context.Context, run string, peak *int64) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var cgroup string
		for ctx.Err() == nil {
			if cgroup == "" {
				if p, err := e.kube.CoreV1().Pods(e.ns).Get(ctx, run+"-reader-0", metav1.GetOptions{}); err == nil && p.Status.Phase == corev1.PodRunning {
					matches, _ := filepath.Glob("/sys/fs/cgroup/memory/kubepods/*/pod" + string(p.UID))
					if len(matches) > 0 {
						cgroup = matches[0]
					}
				}
			} else if rss := cgroupRSS(cgroup); rss > *peak {
				*peak = rss
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

func cgroupRSS(dir string) int64 {
	f, err := os.Open(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "total_rss "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// deleteBlob deletes a blob from the harness's registry, so the next push
// of it sends every byte.
func deleteBlob(ctx context.Context, host, repo, digest string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+host+"/v2/"+repo+"/blobs/sha256:"+digest, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("deleting blob %s from %s: %s", digest, repo, resp.Status)
	}
	return nil
}

// cranePush times crane pushing an OCI layout whose one layer is the
// file itself, uncompressed, as the export's artifact is.
func cranePush(ctx context.Context, dir, file, digest string, size int64, ref string) (time.Duration, error) {
	// Beside the claim, so the file is hard-linked in: crane refuses a
	// symlinked blob.
	layout, err := os.MkdirTemp(filepath.Dir(dir), "export-bench")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(layout) }()
	blobs := filepath.Join(layout, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return 0, err
	}
	if err := os.Link(filepath.Join(dir, file), filepath.Join(blobs, digest)); err != nil {
		return 0, err
	}
	config := []byte("{}")
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "size": len(config), "digest": "sha256:" + sum(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.resultmaterialize.result.layer.v1", "size": size, "digest": "sha256:" + digest}},
	})
	if err != nil {
		return 0, err
	}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(manifest), "digest": "sha256:" + sum(manifest)}}})
	if err != nil {
		return 0, err
	}
	for name, b := range map[string][]byte{
		filepath.Join(blobs, sum(config)): config, filepath.Join(blobs, sum(manifest)): manifest,
		filepath.Join(layout, "index.json"): index, filepath.Join(layout, "oci-layout"): []byte(`{"imageLayoutVersion":"1.0.0"}`),
	} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "crane", "push", "--insecure", layout, ref).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("crane push: %w: %s", err, out)
	}
	return time.Since(start), nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

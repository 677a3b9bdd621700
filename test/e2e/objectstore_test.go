//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	rmv1alpha1 "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The StorageClasses hack/lib/s3.sh installs under k8s-csi-s3's driver
// name: s3fs, rclone writing back 5 s after close and rclone writing back
// 45 s after close.
const (
	classS3fs     = "csi-s3-s3fs"
	classRclone   = "csi-s3-rclone"
	classLate     = "csi-s3-rclone-late"
	classLocal    = "local-path"
	datasetBytes  = 209715200
	storeWaitTime = 2 * time.Minute
)

// objectStore is an S3 client for the store behind a StorageClass, with the
// credentials its PVs name. A cluster without the class skips the test.
func objectStore(ctx context.Context, t *testing.T, c *clients, class string) *s3.Client {
	t.Helper()
	sc, err := c.kube.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && os.Getenv("RM_E2E_OBJECT_STORE") != "required" {
		t.Skipf("no StorageClass %s: this test needs the S3 server and test CSI driver hack/cluster.sh up starts", class)
	}
	if err != nil {
		t.Fatal(err)
	}
	ns, name := sc.Parameters["csi.storage.k8s.io/node-publish-secret-namespace"], sc.Parameters["csi.storage.k8s.io/node-publish-secret-name"]
	secret, err := c.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the credentials of StorageClass %s: %v", class, err)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		data[k] = string(v)
	}
	credentials, err := objectstore.FromSecret(data)
	if err != nil {
		t.Fatal(err)
	}
	return credentials.Client()
}

// claimPrefix is the bucket and key prefix that hold a bound claim's files.
func claimPrefix(ctx context.Context, c *clients, ns, claim string) (bucket, prefix string, err error) {
	pvc, err := c.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	if pvc.Spec.VolumeName == "" {
		return "", "", fmt.Errorf("claim %s/%s is not bound", ns, claim)
	}
	pv, err := c.kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	if pv.Spec.CSI == nil {
		return "", "", fmt.Errorf("volume %s is not a CSI volume", pv.Name)
	}
	loc, err := objectstore.ParseHandle(pv.Spec.CSI.VolumeHandle)
	return loc.Bucket, loc.Prefix, err
}

// onlyClaimPrefix is claimPrefix of the namespace's one claim: the
// PipelineRun's volumeClaimTemplate, which Tekton names itself.
func onlyClaimPrefix(ctx context.Context, c *clients, ns string) (bucket, prefix string, err error) {
	claims, err := c.kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", "", err
	}
	if len(claims.Items) != 1 {
		return "", "", fmt.Errorf("%d claims in %s, want the one of the PipelineRun", len(claims.Items), ns)
	}
	return claimPrefix(ctx, c, ns, claims.Items[0].Name)
}

// objectDigest reads an object through the S3 API, never through a mount,
// and returns its size and sha256.
func objectDigest(ctx context.Context, client *s3.Client, bucket, key string) (int64, string, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, "", err
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// storedDigest waits until the object has the size the producer wrote (a
// mounter that writes back later uploads it after the producer is done)
// and returns its sha256.
func storedDigest(ctx context.Context, t *testing.T, client *s3.Client, bucket, key string, size int64) string {
	t.Helper()
	var digest string
	var got int64
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, storeWaitTime, true, func(ctx context.Context) (bool, error) {
		if !whole(ctx, client, bucket, key, size) {
			return false, nil
		}
		got, digest, last = objectDigest(ctx, client, bucket, key)
		return last == nil && got == size, nil
	})
	if err != nil {
		t.Fatalf("s3://%s/%s: %d bytes (last error %v), want %d: %v", bucket, key, got, last, size, err)
	}
	return digest
}

// whole tells whether the store has an object of that size.
func whole(ctx context.Context, client *s3.Client, bucket, key string, size int64) bool {
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err == nil && aws.ToInt64(head.ContentLength) == size
}

// firstSeen polls the store for an object until it exists and reports when
// it did; the time is logged against the materialize run's end, to show
// whether a write-back mounter had uploaded it by then.
func firstSeen(ctx context.Context, c *clients, client *s3.Client, ns, file string) <-chan time.Time {
	seen := make(chan time.Time, 1)
	go func() {
		_ = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, runTimeout, true, func(ctx context.Context) (bool, error) {
			bucket, prefix, err := onlyClaimPrefix(ctx, c, ns)
			if err != nil {
				return false, nil
			}
			if !whole(ctx, client, bucket, prefix+"/"+file, datasetBytes) {
				return false, nil
			}
			seen <- time.Now()
			return true, nil
		})
		close(seen)
	}()
	return seen
}

// readerPodsSeen polls the namespace for reader pods until ctx ends; the
// function it returns lists those seen so far.
func readerPodsSeen(ctx context.Context, c *clients, ns string) func() []string {
	var mu sync.Mutex
	seen := map[string]bool{}
	go func() {
		_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=resultmaterialize"})
			if err == nil {
				mu.Lock()
				for _, p := range pods.Items {
					seen[p.Name] = true
				}
				mu.Unlock()
			}
			return false, nil
		})
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Sorted(maps.Keys(seen))
	}
}

// TestObjectStorePipeline runs a Kubeflow-style pipeline on a workspace
// whose volumeClaimTemplate is an S3 bucket prefix mounted by the test CSI
// driver: with s3fs (uploads on close) and with rclone writing back 5 s
// after close, as geesefs does by default, and 45 s after, so the store
// cannot have the 200 MiB result when the PipelineRun ends. The reader pod
// reads through the node's staged mount, so the values are exact on all
// three; the store holds the same bytes once the mounter has uploaded.
func TestObjectStorePipeline(t *testing.T) {
	for _, class := range []string{classS3fs, classRclone, classLate} {
		t.Run(class, func(t *testing.T) { objectStorePipeline(t, class, true) })
	}
}

// objectStorePipeline runs the pipeline on a class and checks every value
// against the producer's and the store's; readerPod says whether the
// materialize run must read through a reader pod or must not make one.
func objectStorePipeline(t *testing.T, class string, readerPod bool) {
	ctx, c, ns := setup(t)
	client := objectStore(ctx, t, c, class)
	seen := firstSeen(ctx, c, client, ns, "train/dataset")
	pods := readerPodsSeen(ctx, c, ns)
	pr, cond := runPipeline(ctx, t, c, ns, render(t, "object-store.yaml", struct{ Name, StorageClass string }{"kfp", class}))
	if !cond.IsTrue() {
		t.Fatalf("PipelineRun %s: %s %q, want Succeeded", pr.Name, cond.Reason, cond.Message)
	}
	if got := skipped(pr); len(got) != 1 || got[0] != "retrain" {
		t.Errorf("skipped %v, want [retrain]: evaluate runs on accuracy 0.93", got)
	}
	produced := map[string]string{}
	for _, tr := range taskRuns(ctx, t, c, ns, pr.Name, "train") {
		for _, r := range tr.Status.Results {
			produced[r.Name] = r.Value.StringVal
		}
	}
	run := customRunOf(ctx, t, c, ns, pr.Name)
	if made := pods(); (len(made) > 0) != readerPod {
		t.Errorf("reader pods made: %v; want a reader pod: %v", made, readerPod)
	}
	var ef rmv1alpha1.ExtraFields
	wantReadBy := map[bool]string{true: "readerPod", false: "objectStore"}[readerPod]
	if err := run.Status.DecodeExtraFields(&ef); err != nil || ef.ReadBy != wantReadBy {
		t.Errorf("extraFields.readBy %q (%v), want %q", ef.ReadBy, err, wantReadBy)
	}
	got := results(run)
	want := map[string]string{
		"tiny": "x", "small": strings.Repeat("a", 4096), "accuracy": "0.93",
		"model": "train/model", "model-size": "1048576", "model-inline": "false",
		"dataset": "train/dataset", "dataset-size": fmt.Sprint(datasetBytes), "dataset-inline": "false",
	}
	for _, name := range []string{"tiny", "small", "model", "dataset"} {
		want[name+"-sha256"] = produced[name]
	}
	for k, v := range want {
		if got[k] != v || v == "" {
			t.Errorf("result %s = %.80q, want %.80q (the producer's sha256sum for -sha256)", k, got[k], v)
		}
	}

	bucket, prefix, err := onlyClaimPrefix(ctx, c, ns)
	if err != nil {
		t.Fatal(err)
	}
	if class == classLate && whole(ctx, client, bucket, prefix+"/train/dataset", datasetBytes) {
		t.Errorf("the store has the dataset when the PipelineRun ended: the case does not show a read of bytes the store lacks")
	}
	sizes := map[string]int64{"tiny": 1, "small": 4096, "model": 1048576, "dataset": datasetBytes}
	for name, size := range sizes {
		key := prefix + "/train/" + name
		if digest := storedDigest(ctx, t, client, bucket, key, size); digest != produced[name] {
			t.Errorf("s3://%s/%s: sha256 %s in the store, %s written by the producer", bucket, key, digest, produced[name])
		}
	}
	ended := run.Status.CompletionTime.Time
	select {
	case at, ok := <-seen:
		if ok {
			t.Logf("%s: dataset %d bytes, sha256 %s (producer, run and store agree); whole in the store %.1fs after materialize ended", class, datasetBytes, got["dataset-sha256"], at.Sub(ended).Seconds())
		}
	case <-time.After(5 * time.Second):
		t.Logf("%s: dataset %d bytes, sha256 %s (producer, run and store agree)", class, datasetBytes, got["dataset-sha256"])
	}
}

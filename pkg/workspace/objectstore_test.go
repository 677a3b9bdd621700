package workspace

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"github.com/resultmaterialize/controller/pkg/config"
	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/resultmaterialize/controller/pkg/protocol"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The modes s3fs stores: a closed file 0100644, a directory marker 0755
// (s3fs leaves out its type bits).
const (
	s3fsMode = "33188"
	dirMode  = "493"
)

// podsStub stands in for the reader pod: it records that it was asked.
type podsStub struct{ asked int }

func (p *podsStub) Traits() Traits                                    { return Traits{} }
func (p *podsStub) Marker(*v1beta1.CustomRun) string                  { return "" }
func (p *podsStub) Cleanup(context.Context, *v1beta1.CustomRun) error { return nil }
func (p *podsStub) Read(context.Context, Attempt) (Found, error) {
	p.asked++
	return Found{ReaderPod: "pod"}, nil
}

// objectStoreFixture is a claim bound to a k8s-csi-s3 volume of bucket
// artifacts, prefix pvc-1, mounted by the given mounter, its Secret, and
// an in-process S3 server holding the bucket.
func objectStoreFixture(t *testing.T, mounter string) (*ObjectStoreSource, *podsStub, *s3.Client, context.Context) {
	t.Helper()
	server := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(server.Close)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data", UID: "claim-uid"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pvc-1"},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1"}, Spec: corev1.PersistentVolumeSpec{
		ClaimRef: &corev1.ObjectReference{Namespace: "ns", Name: "data", UID: "claim-uid"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: "ru.yandex.s3.csi", VolumeHandle: "artifacts/pvc-1",
			VolumeAttributes:     map[string]string{"mounter": mounter},
			NodePublishSecretRef: &corev1.SecretReference{Namespace: "kube-system", Name: "csi-s3-secret"},
		}},
	}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "csi-s3-secret"},
		Data: map[string][]byte{"accessKeyID": []byte("id"), "secretAccessKey": []byte("key"), "endpoint": []byte(server.URL)}}
	pods := &podsStub{}
	src := &ObjectStoreSource{Kube: fake.NewClientset(pvc, pv, secret), Memory: NewMemory(DefaultMemory), Streams: make(chan struct{}, 2), Pods: pods}
	creds, err := objectstore.FromSecret(map[string]string{"accessKeyID": "id", "secretAccessKey": "key", "endpoint": server.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := creds.Client()
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.ObjectStoreProfiles, err = objectstore.ParseProfiles(`
- driver: ru.yandex.s3.csi
  bucket: volumeHandle
  credentials: nodePublishSecretRef
  exact: [{attribute: mounter, in: [s3fs]}]
`)
	if err != nil {
		t.Fatal(err)
	}
	return src, pods, client, config.WithConfig(context.Background(), cfg)
}

func putObject(t *testing.T, client *s3.Client, key, body string, meta map[string]string) {
	t.Helper()
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(key), Body: strings.NewReader(body), Metadata: meta}); err != nil {
		t.Fatal(err)
	}
}

func claimAttempt(results ...materialize.Result) Attempt {
	return Attempt{
		Run:     &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "ns"}},
		Binding: v1beta1.WorkspaceBinding{Name: "ws", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}},
		Plan:    materialize.Plan{MaxInlineTotal: 1 << 20, MaxProjectionBytes: 64 << 20, Results: results},
		Newest:  func(context.Context) error { return nil },
	}
}

func result(name, path string) materialize.Result {
	return materialize.Result{Name: name, Path: path, Threshold: 16, OnOversize: resultmaterialize.PolicyReference,
		Encoding: resultmaterialize.EncodingText, Type: resultmaterialize.TypeString}
}

// A direct read reports what the reader reports on the same bytes: the
// same size, digest, head, missing and directory outcomes; a projection is
// answered from the object; no reader pod is asked.
func TestObjectStoreReadsAsTheReader(t *testing.T) {
	src, pods, client, ctx := objectStoreFixture(t, "s3fs")
	big := strings.Repeat("x", 100)
	putObject(t, client, "pvc-1/out/", "", map[string]string{"mode": dirMode})
	putObject(t, client, "pvc-1/out/small", "ready", map[string]string{"mode": s3fsMode})
	putObject(t, client, "pvc-1/out/big", big, map[string]string{"mode": s3fsMode})
	putObject(t, client, "pvc-1/out/metrics.json", `{"accuracy":0.93}`, map[string]string{"mode": s3fsMode})
	putObject(t, client, "pvc-1/out/adir/child", "c", map[string]string{"mode": s3fsMode})
	putObject(t, client, "pvc-2/out/missing", "another volume's", map[string]string{"mode": s3fsMode})
	accuracy := result("accuracy", "out/metrics.json")
	accuracy.JSONPath = "{.accuracy}"
	a := claimAttempt(result("small", "out/small"), result("big", "out/big"), result("missing", "out/missing"), result("adir", "out/adir"), accuracy)
	if !src.Claims(ctx, "ns", a.Binding, config.FromContext(ctx)) {
		t.Fatal("the source does not claim an s3fs volume of a profiled driver")
	}
	found, err := src.Read(ctx, a)
	if err != nil || found.Fallback != "" || pods.asked != 0 {
		t.Fatalf("Read = %v, fallback %q, reader pod asked %d times; want a direct read", err, found.Fallback, pods.asked)
	}
	reqs := a.Plan.Requests()
	want := []protocol.FileReport{
		protocol.DescribeBytes([]byte("ready"), reqs[0]),
		protocol.DescribeBytes([]byte(big), reqs[1]),
		{Path: "out/missing"},
	}
	for i, w := range want {
		got := found.Reports[i]
		if got.Found != w.Found || got.Size != w.Size || got.SHA256 != w.SHA256 || string(got.Head) != string(w.Head) || got.Error != nil {
			t.Errorf("report %d = %+v, want %+v", i, got, w)
		}
	}
	if rep := found.Reports[3]; rep.Error == nil || rep.Error.Message != `"out/adir" is a directory, not a regular file` {
		t.Errorf("directory report %+v, want the reader's directory error", rep)
	}
	if rep := found.Reports[4]; string(rep.Head) != "0.93" || rep.Source == nil || rep.Source.Size != 17 {
		t.Errorf("projection report %+v, want 0.93 from the 17-byte document", rep)
	}
}

// Whatever the mount could show otherwise goes to the reader pod, with the
// reason; no value is published from the store.
func TestObjectStoreHandsDoubtToTheReaderPod(t *testing.T) {
	for name, tc := range map[string]struct {
		meta  map[string]string
		limit int64
		want  string
	}{
		"symlink":        {map[string]string{"mode": "41471"}, 0, "is not of the type the mount must show"},
		"private":        {map[string]string{"mode": "33152"}, 0, "may not allow the reader"},
		"no mode":        {nil, 0, "no mode metadata"},
		"above max size": {map[string]string{"mode": s3fsMode}, 4, "above object-store-max-bytes (4)"},
		"group denies":   {map[string]string{"mode": "33156", "gid": "65532"}, 0, "may not allow the reader"},
	} {
		t.Run(name, func(t *testing.T) {
			src, pods, client, ctx := objectStoreFixture(t, "s3fs")
			if tc.limit > 0 {
				config.FromContext(ctx).ObjectStoreMaxBytes = tc.limit
			}
			putObject(t, client, "pvc-1/value", "value", tc.meta)
			found, err := src.Read(ctx, claimAttempt(result("value", "value")))
			if err != nil || pods.asked != 1 || found.ReaderPod != "pod" || !strings.Contains(found.Fallback, tc.want) {
				t.Errorf("Read = %+v, %v, reader pod asked %d times; want the reader pod, saying %q", found, err, pods.asked, tc.want)
			}
		})
	}
}

// A volume whose mounter writes back later is never claimed; nor is any
// volume when no profile is configured.
func TestObjectStoreClaimsOnlyExactVolumes(t *testing.T) {
	src, _, _, ctx := objectStoreFixture(t, "rclone")
	b := claimAttempt().Binding
	if src.Claims(ctx, "ns", b, config.FromContext(ctx)) {
		t.Error("an rclone volume is claimed")
	}
	src, _, _, ctx = objectStoreFixture(t, "s3fs")
	if src.Claims(ctx, "ns", b, config.Default()) {
		t.Error("a volume is claimed with no profile configured")
	}
	if src.Claims(ctx, "other", b, config.FromContext(ctx)) {
		t.Error("a claim of another namespace is claimed")
	}
}

// A parent the mount would not show as a directory the reader may pass
// through sends the read to the reader pod.
func TestObjectStoreChecksEveryParent(t *testing.T) {
	for name, tc := range map[string]struct {
		objects map[string]map[string]string
		want    string
	}{
		"implicit directory": {map[string]map[string]string{}, "has no marker object"},
		"private directory":  {map[string]map[string]string{"pvc-1/out/": {"mode": "448"}}, "may not allow the reader"},
		"a file in the way":  {map[string]map[string]string{"pvc-1/out/": {"mode": dirMode}, "pvc-1/out": {"mode": s3fsMode}}, "is an object, not a directory"},
	} {
		t.Run(name, func(t *testing.T) {
			src, pods, client, ctx := objectStoreFixture(t, "s3fs")
			for key, meta := range tc.objects {
				putObject(t, client, key, "", meta)
			}
			putObject(t, client, "pvc-1/out/value", "value", map[string]string{"mode": s3fsMode})
			found, err := src.Read(ctx, claimAttempt(result("value", "out/value")))
			if err != nil || pods.asked != 1 || !strings.Contains(found.Fallback, tc.want) {
				t.Errorf("Read = %+v, %v, reader pod asked %d times; want the reader pod, saying %q", found, err, pods.asked, tc.want)
			}
		})
	}
}

// A store that cannot be reached hands the read to the reader pod, saying
// no address, and the run's next read goes there without trying again.
func TestObjectStoreUnreachableFallsBackOnce(t *testing.T) {
	src, pods, _, ctx := objectStoreFixture(t, "s3fs")
	secret, err := src.Kube.CoreV1().Secrets("kube-system").Get(ctx, "csi-s3-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data["endpoint"] = []byte("http://127.0.0.1:1")
	if _, err := src.Kube.CoreV1().Secrets("kube-system").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := claimAttempt(result("value", "value"))
	found, err := src.Read(ctx, a)
	if err != nil || pods.asked != 1 || !strings.Contains(found.Fallback, "the object store failed the read") || strings.Contains(found.Fallback, "127.0.0.1") {
		t.Fatalf("Read = %+v, %v; want the reader pod, the fallback naming no address", found, err)
	}
	secret.Data["endpoint"] = []byte("http://127.0.0.1:2")
	if _, err := src.Kube.CoreV1().Secrets("kube-system").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if found, err = src.Read(ctx, a); err != nil || pods.asked != 2 || found.Fallback != "the object store failed the read: no response" {
		t.Errorf("second Read = %+v, %v; want the reader pod at once, with the first reason", found, err)
	}
}

// Mount options that change ownership or modes make a volume inexact.
func TestObjectStoreOwnershipOptionsAreInexact(t *testing.T) {
	src, _, _, ctx := objectStoreFixture(t, "s3fs")
	pv, err := src.Kube.CoreV1().PersistentVolumes().Get(ctx, "pvc-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv.Spec.CSI.VolumeAttributes["options"] = "-o umask=077"
	if _, err := src.Kube.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if src.Claims(ctx, "ns", claimAttempt().Binding, config.FromContext(ctx)) {
		t.Error("a volume mounted with -o umask=077 is claimed")
	}
}

// A credentials Secret the controller may not read hands the run to the
// reader pod, saying which Secret and where the Role is documented.
func TestObjectStoreSecretForbiddenFallsBack(t *testing.T) {
	src, pods, _, ctx := objectStoreFixture(t, "s3fs")
	src.Kube.(*fake.Clientset).PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("secrets"), "csi-s3-secret", errors.New("no Role"))
	})
	found, err := src.Read(ctx, claimAttempt(result("value", "value")))
	if err != nil || pods.asked != 1 || !strings.Contains(found.Fallback, "may not read the credentials Secret kube-system/csi-s3-secret") {
		t.Errorf("Read = %+v, %v; want the reader pod, naming the Secret", found, err)
	}
}

// A store that does not answer within the reconcile's time ends the read
// with an error that says the reader pod reads it next, and the run's next
// read goes there at once.
func TestObjectStoreSlowPastTheDeadline(t *testing.T) {
	src, pods, _, ctx := objectStoreFixture(t, "s3fs")
	stuck := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stuck }))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(stuck) })
	secret, err := src.Kube.CoreV1().Secrets("kube-system").Get(ctx, "csi-s3-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data["endpoint"] = []byte(slow.URL)
	if _, err := src.Kube.CoreV1().Secrets("kube-system").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := claimAttempt(result("value", "value"))
	a.Run.UID = "run-uid"
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := src.Read(short, a); err == nil || !strings.Contains(err.Error(), "the reader pod reads it next") || pods.asked != 0 {
		t.Fatalf("Read past the deadline = %v, reader pod asked %d times; want an error saying the reader pod is next", err, pods.asked)
	}
	found, err := src.Read(ctx, a)
	if err != nil || pods.asked != 1 || found.Fallback == "" {
		t.Errorf("next Read = %+v, %v; want the reader pod at once", found, err)
	}
}

// In datashim's shape the bucket is the Secret's: read directly when it
// names only a bucket, by the reader pod when it names a folder too or
// another endpoint than the profile's.
func TestObjectStoreDatashimShape(t *testing.T) {
	for name, tc := range map[string]struct {
		secret map[string]string
		direct bool
		want   string
	}{
		"bucket":         {map[string]string{"bucket": "artifacts"}, true, ""},
		"folder":         {map[string]string{"bucket": "artifacts", "folder": "pvc-1"}, false, "names a folder"},
		"other endpoint": {map[string]string{"bucket": "artifacts", "endpoint": "http://169.254.169.254"}, false, "not the profile's"},
	} {
		t.Run(name, func(t *testing.T) {
			src, pods, client, ctx := objectStoreFixture(t, "s3fs")
			cfg := config.FromContext(ctx)
			secret, err := src.Kube.CoreV1().Secrets("kube-system").Get(ctx, "csi-s3-secret", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			endpoint := string(secret.Data["endpoint"])
			cfg.ObjectStoreProfiles, err = objectstore.ParseProfiles("- {driver: ru.yandex.s3.csi, bucket: secret, credentials: nodePublishSecretRef, endpoint: " + endpoint + ", exact: [{attribute: mounter, in: [s3fs]}]}")
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.secret {
				secret.Data[k] = []byte(v)
			}
			if _, err := src.Kube.CoreV1().Secrets("kube-system").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			putObject(t, client, "value", "whole-bucket", map[string]string{"mode": s3fsMode})
			found, err := src.Read(ctx, claimAttempt(result("value", "value")))
			switch {
			case err != nil:
				t.Fatal(err)
			case tc.direct && (pods.asked != 0 || len(found.Reports) != 1 || string(found.Reports[0].Head) != "whole-bucket"):
				t.Errorf("Read = %+v, reader pod asked %d times; want the bucket's root read directly", found, pods.asked)
			case !tc.direct && (pods.asked != 1 || !strings.Contains(found.Fallback, tc.want)):
				t.Errorf("Read = %+v, reader pod asked %d times; want the reader pod, saying %q", found, pods.asked, tc.want)
			}
		})
	}
}

//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	rmv1alpha1 "github.com/resultmaterialize/controller/pkg/apis/resultmaterialize/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
)

// k8sCSIS3Profile is docs/object-storage.md's profile for k8s-csi-s3:
// s3fs, or geesefs flushing on close, is exact; rclone writing back is not.
const k8sCSIS3Profile = `
- driver: ru.yandex.s3.csi
  bucket: volumeHandle
  credentials: nodePublishSecretRef
  exact:
    - {attribute: mounter, in: [s3fs]}
    - {attribute: options, contains: --fsync-on-close}
`

// datashimProfile is docs/object-storage.md's profile for datashim's
// csi-s3, whose Secrets live in the dataset's namespace, with the store's
// endpoint.
const datashimProfile = `
- driver: ch.ctrox.csi.s3-driver
  bucket: secret
  credentials: nodePublishSecretRef
  endpoint: %s
  exact:
    - {attribute: mounter, in: [s3fs]}
`

// The drivers the harness registers the test driver as.
const (
	k8sCSIS3Driver = "ru.yandex.s3.csi"
	datashimDriver = "ch.ctrox.csi.s3-driver"
)

// The credentials Secrets the controller may read in kube-system: the
// harness's, and the wrong one a test makes.
const (
	credentialsSecret = "csi-s3-secret"
	wrongSecret       = "csi-s3-wrong"
)

// allowObjectStore turns on the k8s-csi-s3 profile and grants the
// controller the documented Role on the credentials Secrets, until the test
// ends.
func allowObjectStore(ctx context.Context, t *testing.T, c *clients) {
	t.Helper()
	objectStore(ctx, t, c, classS3fs)
	allowSecrets(ctx, t, c, "kube-system", credentialsSecret, wrongSecret)
	setConfig(ctx, t, c, map[string]string{"object-store-profiles": k8sCSIS3Profile})
}

// allowSecrets grants the controller the documented Role on the named
// Secrets of a namespace, until the test ends.
func allowSecrets(ctx context.Context, t *testing.T, c *clients, namespace string, names ...string) {
	t.Helper()
	meta := metav1.ObjectMeta{Namespace: namespace, Name: "resultmaterialize-object-store"}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: names, Verbs: []string{"get"},
	}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: meta.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: controllerNamespace, Name: "resultmaterialize-controller"}},
	}
	if _, err := c.kube.RbacV1().Roles(meta.Namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.kube.RbacV1().RoleBindings(meta.Namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.kube.RbacV1().RoleBindings(meta.Namespace).Delete(context.Background(), meta.Name, metav1.DeleteOptions{})
		_ = c.kube.RbacV1().Roles(meta.Namespace).Delete(context.Background(), meta.Name, metav1.DeleteOptions{})
	})
}

// TestDirectObjectStoreReads: with the k8s-csi-s3 profile, the pipeline on
// s3fs is read from the bucket with no reader pod and publishes what the
// reader-pod path publishes; on rclone writing back it still uses the
// reader pod, and stays exact.
func TestDirectObjectStoreReads(t *testing.T) {
	ctx, c, _ := setup(t)
	allowObjectStore(ctx, t, c)
	t.Run(classS3fs, func(t *testing.T) { objectStorePipeline(t, classS3fs, false) })
	t.Run(classRclone, func(t *testing.T) { objectStorePipeline(t, classRclone, true) })
}

// TestDirectReadRefusals: a symlink object is handed to the reader pod,
// which follows it inside the workspace, with an Event saying why; a plain
// file is read with no pod; credentials the store refuses fail the run
// with ObjectStoreCredentialsRefused, naming the Secret, never its keys.
func TestDirectReadRefusals(t *testing.T) {
	ctx, c, ns := setup(t)
	allowObjectStore(ctx, t, c)
	createClaim(ctx, t, c, ns, classS3fs)
	writeFiles(ctx, t, c, ns, "printf v > /data/real && ln -s real /data/inner")
	pods := readerPodsSeen(ctx, c, ns)
	plain, cond := createCustomRun(ctx, t, c, ns, claimRun("plain", "data", "real"))
	if !cond.IsTrue() || results(plain)["real"] != "v" || len(pods()) != 0 {
		t.Errorf("plain file: %s %s %v, reader pods %v; want v read with no reader pod", cond.Status, cond.Reason, results(plain), pods())
	}
	link, cond := createCustomRun(ctx, t, c, ns, claimRun("link", "data", "inner"))
	if !cond.IsTrue() || results(link)["inner"] != "v" || len(pods()) != 1 {
		t.Errorf("symlink: %s %s %v, reader pods %v; want v read by one reader pod", cond.Status, cond.Reason, results(link), pods())
	}
	if msg := eventOf(ctx, t, c, ns, "link", "ReadThroughReaderPod"); !strings.Contains(msg, "is not of the type the mount must show") {
		t.Errorf("ReadThroughReaderPod event %q, want it to name the symlink", msg)
	}

	secret, err := c.kube.CoreV1().Secrets("kube-system").Get(ctx, credentialsSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := "wrong-" + rand.String(16)
	wrong := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: wrongSecret},
		Data: map[string][]byte{"accessKeyID": secret.Data["accessKeyID"], "secretAccessKey": []byte(wrongKey), "endpoint": secret.Data["endpoint"]}}
	if _, err := c.kube.CoreV1().Secrets("kube-system").Create(ctx, wrong, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.kube.CoreV1().Secrets("kube-system").Delete(context.Background(), wrongSecret, metav1.DeleteOptions{})
	})
	bucket, prefix, err := claimPrefix(ctx, c, ns, "data")
	if err != nil {
		t.Fatal(err)
	}
	staticClaim(ctx, t, c, ns, "wrong", k8sCSIS3Driver, bucket+"/"+prefix, corev1.SecretReference{Namespace: "kube-system", Name: wrongSecret})
	run, cond := createCustomRun(ctx, t, c, ns, claimRun("wrong", "wrong", "real"))
	if cond.Status != corev1.ConditionFalse || cond.Reason != "ObjectStoreCredentialsRefused" ||
		!strings.Contains(cond.Message, "kube-system/"+wrongSecret) || strings.Contains(cond.Message, wrongKey) {
		t.Errorf("wrong credentials: %s %s %q results %v; want Failed ObjectStoreCredentialsRefused naming the Secret and not its key", cond.Status, cond.Reason, cond.Message, results(run))
	}
}

// staticClaim makes a PV of the test driver under the driver name, on a
// handle, with the given credentials Secret, and a claim bound to it, as
// k8s-csi-s3's manual PV example does.
func staticClaim(ctx context.Context, t *testing.T, c *clients, ns, name, driver, handle string, secret corev1.SecretReference) {
	t.Helper()
	pvName := ns + "-" + name
	ref := &secret
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pvName}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: name},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: driver, VolumeHandle: handle,
			VolumeAttributes:   map[string]string{"mounter": "s3fs"},
			NodeStageSecretRef: ref, NodePublishSecretRef: ref,
		}},
	}}
	if _, err := c.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.kube.CoreV1().PersistentVolumes().Delete(context.Background(), pvName, metav1.DeleteOptions{})
	})
	empty := ""
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: &empty, VolumeName: pvName,
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}}
	if _, err := c.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := c.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.ClaimBound, nil
	})
	if err != nil {
		t.Fatalf("claim %s did not bind to %s: %v", name, pvName, err)
	}
}

// TestDirectReadsInDatashimShape: the test driver under datashim's csi-s3
// name mounts the bucket its Secret names, whole, as datashim's s3fs
// mounter does; the Secrets live in the run's namespace, as datashim makes
// them. With the datashim profile a file written through that mount is
// read from the bucket with no reader pod, and the object is there through
// the S3 API; a Secret that also names a folder is read by the reader pod,
// which sees what the mount shows.
func TestDirectReadsInDatashimShape(t *testing.T) {
	ctx, c, ns := setup(t)
	client := objectStore(ctx, t, c, classS3fs)
	harness, err := c.kube.CoreV1().Secrets("kube-system").Get(ctx, credentialsSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bucket := "resultmaterialize"
	for _, name := range []string{"whole", "folder"} {
		data := map[string][]byte{"accessKeyID": harness.Data["accessKeyID"], "secretAccessKey": harness.Data["secretAccessKey"],
			"endpoint": harness.Data["endpoint"], "bucket": []byte(bucket)}
		if name == "folder" {
			data["folder"] = []byte("datashim-" + ns)
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
		if _, err := c.kube.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// datashim's volume handle is a name, not a place.
		staticClaim(ctx, t, c, ns, name, datashimDriver, "dataset-"+ns+"-"+name, corev1.SecretReference{Namespace: ns, Name: name})
	}
	allowSecrets(ctx, t, c, ns, "whole", "folder")
	setConfig(ctx, t, c, map[string]string{"object-store-profiles": fmt.Sprintf(datashimProfile, harness.Data["endpoint"])})

	key := "datashim-" + ns + "/model"
	value := "through-datashim-" + rand.String(8)
	writeClaim(ctx, t, c, ns, "whole", "mkdir -p /data/datashim-"+ns+" && printf "+value+" > /data/"+key)
	t.Cleanup(func() {
		_, _ = client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	})
	sum := sha256.Sum256([]byte(value))
	if n, digest, err := objectDigest(ctx, client, bucket, key); err != nil || n != int64(len(value)) || digest != hex.EncodeToString(sum[:]) {
		t.Fatalf("object %s/%s through the S3 API: %d bytes, sha256 %s, %v; want %q", bucket, key, n, digest, err, value)
	}
	pods := readerPodsSeen(ctx, c, ns)
	for _, tc := range []struct{ claim, readBy string }{{"whole", "objectStore"}, {"folder", "readerPod"}} {
		run, cond := createCustomRun(ctx, t, c, ns, claimRun("via-"+tc.claim, tc.claim, "model="+key))
		var ef rmv1alpha1.ExtraFields
		if err := run.Status.DecodeExtraFields(&ef); err != nil || !cond.IsTrue() || results(run)["model"] != value || ef.ReadBy != tc.readBy {
			t.Errorf("claim %s: %s %s %q results %v readBy %q (%v); want %s read by %s", tc.claim, cond.Status, cond.Reason, cond.Message, results(run), ef.ReadBy, err, value, tc.readBy)
		}
	}
	if made := pods(); len(made) != 1 {
		t.Errorf("reader pods %v, want the folder claim's only", made)
	}
	if msg := eventOf(ctx, t, c, ns, "via-folder", "ReadThroughReaderPod"); !strings.Contains(msg, "names a folder") || strings.Contains(msg, "datashim-"+ns) {
		t.Errorf("ReadThroughReaderPod event %q, want it to say the Secret names a folder, without its value", msg)
	}
}

// eventOf returns the message of the run's Event with the reason, or "".
func eventOf(ctx context.Context, t *testing.T, c *clients, ns, run, reason string) string {
	t.Helper()
	var msg string
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		events, err := c.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + run + ",reason=" + reason})
		if err != nil || len(events.Items) == 0 {
			return false, nil
		}
		msg = events.Items[0].Message
		return true, nil
	})
	return msg
}

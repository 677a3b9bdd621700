package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

const driverName = "ru.yandex.s3.csi"

// fixture is a fake API server holding the credentials Secret and a
// StorageClass as k8s-csi-s3's examples write them, and an in-process S3
// server the Secret points at.
func fixture(t *testing.T) (*fake.Clientset, *s3.Client) {
	t.Helper()
	server := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(server.Close)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "csi-s3-secret"},
		Data: map[string][]byte{
			"accessKeyID": []byte("id"), "secretAccessKey": []byte("key"), "endpoint": []byte(server.URL),
		},
	}
	params := map[string]string{"bucket": "artifacts", "mounter": "s3fs", "options": "-o dbglevel=info"}
	for _, kind := range []string{"provisioner", "node-stage", "node-publish"} {
		params["csi.storage.k8s.io/"+kind+"-secret-name"] = "csi-s3-secret"
		params["csi.storage.k8s.io/"+kind+"-secret-namespace"] = "kube-system"
	}
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "csi-s3"}, Provisioner: driverName, Parameters: params}
	other := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Provisioner: "rancher.io/local-path"}
	kube := fake.NewClientset(secret, class, other, claim("mine", "csi-s3"), claim("theirs", "local"))
	credentials, err := objectstore.FromSecret(map[string]string{"accessKeyID": "id", "secretAccessKey": "key", "endpoint": server.URL})
	if err != nil {
		t.Fatal(err)
	}
	return kube, credentials.Client()
}

func claim(name, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

// A pending claim of a class that names the driver gets a PV in
// k8s-csi-s3's shape, pre-bound to it, and a directory marker for its
// prefix; a claim of another class is left alone.
func TestProvisionMakesK8sCSIS3Shape(t *testing.T) {
	ctx := context.Background()
	kube, client := fixture(t)
	p := provisioner{name: driverName, kube: kube}
	if err := p.provisionAll(ctx); err != nil {
		t.Fatal(err)
	}
	pvs, err := kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil || len(pvs.Items) != 1 {
		t.Fatalf("PVs %v, err %v; want one, for claim mine", pvs.Items, err)
	}
	pv := pvs.Items[0]
	csi := pv.Spec.CSI
	if pv.Name != "pvc-uid-mine" || csi.Driver != driverName || csi.VolumeHandle != "artifacts/pvc-uid-mine" {
		t.Errorf("PV %s: driver %s, handle %s; want pvc-uid-mine, %s, artifacts/pvc-uid-mine", pv.Name, csi.Driver, csi.VolumeHandle, driverName)
	}
	if csi.VolumeAttributes["mounter"] != "s3fs" || csi.VolumeAttributes["options"] != "-o dbglevel=info" {
		t.Errorf("volumeAttributes %v, want the class's mounter and options", csi.VolumeAttributes)
	}
	for name, ref := range map[string]*corev1.SecretReference{"nodeStageSecretRef": csi.NodeStageSecretRef, "nodePublishSecretRef": csi.NodePublishSecretRef} {
		if ref == nil || ref.Name != "csi-s3-secret" || ref.Namespace != "kube-system" {
			t.Errorf("%s %v, want kube-system/csi-s3-secret", name, ref)
		}
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != "mine" || ref.Namespace != "ns" || ref.UID != "uid-mine" {
		t.Errorf("claimRef %v, want ns/mine", ref)
	}
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("pvc-uid-mine/")}); err != nil {
		t.Errorf("the prefix's directory marker: %v", err)
	}
	if err := p.provisionAll(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{}); len(again.Items) != 1 {
		t.Errorf("a second pass made %d PVs, want the one", len(again.Items))
	}
}

// A released PV of the driver under Delete loses its prefix's objects and
// then itself; another prefix of the bucket stays.
func TestDeleteReleasedEmptiesOnlyItsPrefix(t *testing.T) {
	ctx := context.Background()
	kube, client := fixture(t)
	p := provisioner{name: driverName, kube: kube}
	if err := p.provisionAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pvc-uid-mine/out/big", "pvc-uid-mine2/keep"} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(key), Body: nil}); err != nil {
			t.Fatal(err)
		}
	}
	pv, err := kube.CoreV1().PersistentVolumes().Get(ctx, "pvc-uid-mine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := kube.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.deleteReleased(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().PersistentVolumes().Get(ctx, "pvc-uid-mine", metav1.GetOptions{}); err == nil {
		t.Error("the released PV is still there")
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if len(keys) != 1 || keys[0] != "pvc-uid-mine2/keep" {
		t.Errorf("objects left %v, want only pvc-uid-mine2/keep", keys)
	}
}

// A class of the driver without parameters.bucket is refused: the driver
// never makes a bucket per PV, so it never deletes one.
func TestProvisionRefusesAClassWithoutBucket(t *testing.T) {
	ctx := context.Background()
	kube, _ := fixture(t)
	class, err := kube.StorageV1().StorageClasses().Get(ctx, "csi-s3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(class.Parameters, "bucket")
	p := provisioner{name: driverName, kube: kube}
	err = p.provision(ctx, claim("mine", "csi-s3"), class)
	if err == nil || !strings.Contains(err.Error(), "StorageClass csi-s3 has no parameters.bucket") {
		t.Errorf("provision: %v, want the class named and its missing bucket", err)
	}
	if pvs, _ := kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{}); len(pvs.Items) != 0 {
		t.Errorf("%d PVs made, want none", len(pvs.Items))
	}
}

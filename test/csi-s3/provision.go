package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/resultmaterialize/controller/test/buckets"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The StorageClass parameters external-provisioner reads, as k8s-csi-s3's
// StorageClass sets them.
const (
	provisionerSecretName      = "csi.storage.k8s.io/provisioner-secret-name"
	provisionerSecretNamespace = "csi.storage.k8s.io/provisioner-secret-namespace"
	nodeStageSecretName        = "csi.storage.k8s.io/node-stage-secret-name"
	nodeStageSecretNamespace   = "csi.storage.k8s.io/node-stage-secret-namespace"
	nodePublishSecretName      = "csi.storage.k8s.io/node-publish-secret-name"
	nodePublishSecretNamespace = "csi.storage.k8s.io/node-publish-secret-namespace"
	// The annotations external-provisioner puts on a PV it made.
	provisionedBy           = "pv.kubernetes.io/provisioned-by"
	deletionSecretName      = "volume.kubernetes.io/provisioner-deletion-secret-name"
	deletionSecretNamespace = "volume.kubernetes.io/provisioner-deletion-secret-namespace"
)

// provisioner is a minimal external-provisioner, which the Go module proxy
// here does not serve: it makes a PV, pre-bound, for each pending claim of
// a StorageClass that names this driver, with one prefix per PV in the
// class's bucket as k8s-csi-s3 does with parameters.bucket, and deletes
// the prefix and the PV when the claim is gone and the policy is Delete.
// A class without parameters.bucket is refused.
// It polls once a second: enough for a one-node test cluster.
type provisioner struct {
	name string
	kube kubernetes.Interface
}

func (p provisioner) run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := p.provisionAll(ctx); err != nil {
			log.Printf("provisioning: %v", err)
		}
		if err := p.deleteReleased(ctx); err != nil {
			log.Printf("deleting: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (p provisioner) provisionAll(ctx context.Context) error {
	claims, err := p.kube.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range claims.Items {
		claim := &claims.Items[i]
		if claim.Status.Phase != corev1.ClaimPending || claim.Spec.VolumeName != "" || claim.Spec.StorageClassName == nil {
			continue
		}
		class, err := p.kube.StorageV1().StorageClasses().Get(ctx, *claim.Spec.StorageClassName, metav1.GetOptions{})
		if err != nil || class.Provisioner != p.name {
			continue
		}
		if err := p.provision(ctx, claim, class); err != nil {
			log.Printf("provisioning %s/%s: %v", claim.Namespace, claim.Name, err)
		}
	}
	return nil
}

func (p provisioner) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) error {
	name := "pvc-" + string(claim.UID)
	if _, err := p.kube.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return nil
	}
	params := class.Parameters
	bucket, prefix := params["bucket"], name
	if bucket == "" {
		return fmt.Errorf("StorageClass %s has no parameters.bucket: this driver provisions one prefix per PV in a bucket, never a bucket per PV", class.Name)
	}
	client, err := p.client(ctx, params[provisionerSecretNamespace], params[provisionerSecretName])
	if err != nil {
		return err
	}
	if err := buckets.EnsurePrefix(ctx, client, bucket, prefix); err != nil {
		return err
	}
	size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	policy := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		policy = *class.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			provisionedBy:           p.name,
			deletionSecretName:      params[provisionerSecretName],
			deletionSecretNamespace: params[provisionerSecretNamespace],
		}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              class.Name,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver:       p.name,
				VolumeHandle: bucket + "/" + prefix,
				VolumeAttributes: map[string]string{
					"capacity": fmt.Sprint(size.Value()),
					"mounter":  params["mounter"],
					"options":  params["options"],
					"bucket":   params["bucket"],
				},
				NodeStageSecretRef:   &corev1.SecretReference{Name: params[nodeStageSecretName], Namespace: params[nodeStageSecretNamespace]},
				NodePublishSecretRef: &corev1.SecretReference{Name: params[nodePublishSecretName], Namespace: params[nodePublishSecretNamespace]},
			}},
		},
	}
	if _, err := p.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	log.Printf("provisioned %s for %s/%s in %s", name, claim.Namespace, claim.Name, pv.Spec.CSI.VolumeHandle)
	return nil
}

func (p provisioner) deleteReleased(ctx context.Context) error {
	volumes, err := p.kube.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range volumes.Items {
		pv := &volumes.Items[i]
		if pv.Annotations[provisionedBy] != p.name || pv.Status.Phase != corev1.VolumeReleased ||
			pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Spec.CSI == nil {
			continue
		}
		if err := p.delete(ctx, pv); err != nil {
			log.Printf("deleting %s: %v", pv.Name, err)
		}
	}
	return nil
}

func (p provisioner) delete(ctx context.Context, pv *corev1.PersistentVolume) error {
	client, err := p.client(ctx, pv.Annotations[deletionSecretNamespace], pv.Annotations[deletionSecretName])
	if err != nil {
		return err
	}
	loc, err := objectstore.ParseHandle(pv.Spec.CSI.VolumeHandle)
	if err != nil {
		return err
	}
	if err := buckets.RemovePrefix(ctx, client, loc.Bucket, loc.Prefix); err != nil {
		return err
	}
	err = p.kube.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	log.Printf("deleted %s and its objects under %s", pv.Name, pv.Spec.CSI.VolumeHandle)
	return nil
}

func (p provisioner) client(ctx context.Context, namespace, name string) (*s3.Client, error) {
	secret, err := p.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the provisioner secret %s/%s: %w", namespace, name, err)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		data[k] = string(v)
	}
	credentials, err := objectstore.FromSecret(data)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", namespace, name, err)
	}
	return credentials.Client(), nil
}

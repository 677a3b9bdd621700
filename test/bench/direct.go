package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// The object-store rows: runs on a claim of the local cluster's s3fs class
// read from the bucket (docs/object-storage.md's k8s-csi-s3 profile),
// against runs on a claim of the same bucket prefix mounted by rclone,
// which the profile leaves to the reader pod.
const (
	directClass     = "csi-s3-s3fs"
	directClaim     = "s3"
	podClaim        = "s3-pod"
	directPairs     = 20
	directBurst     = 100
	directBig       = "big"
	directBigBytes  = 200 << 20
	directBigBurst  = 100
	directDigests   = 5
	directProfile   = "- {driver: ru.yandex.s3.csi, bucket: volumeHandle, credentials: nodePublishSecretRef, exact: [{attribute: mounter, in: [s3fs]}]}"
	directRoleName  = "resultmaterialize-bench-object-store"
	credentialsName = "csi-s3-secret"
)

// direct measures the object-store rows, or notes why it cannot.
func (e *env) direct(ctx context.Context, r *report) error {
	class, err := e.kube.StorageV1().StorageClasses().Get(ctx, directClass, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		r.note("object-store rows skipped: no StorageClass %s (the local cluster's S3 server and test CSI driver)", directClass)
		return nil
	}
	if err != nil {
		return err
	}
	restore, err := e.allowDirect(ctx)
	if err != nil {
		return err
	}
	defer restore()
	handle, err := e.directFixture(ctx, class.Name)
	if err != nil {
		return err
	}

	var direct, pod []time.Duration
	for i := range directPairs {
		for _, c := range []struct {
			claim string
			into  *[]time.Duration
		}{{directClaim, &direct}, {podClaim, &pod}} {
			name := fmt.Sprintf("%s-%d", c.claim, i)
			d, err := e.one(ctx, key(kindRun, name), func(ctx context.Context) error { return e.createRun(ctx, claimRun(name, c.claim, resultName)) })
			if err != nil {
				return err
			}
			*c.into = append(*c.into, d)
		}
	}
	r.row("one object-store PVC CustomRun, direct vs reader pod on the same prefix, interleaved", fmt.Sprint(directPairs),
		ms(percentile(direct, 50))+" vs "+ms(percentile(pod, 50)), ms(percentile(direct, 90))+" vs "+ms(percentile(pod, 90)), "-",
		ratio(percentile(direct, 50), percentile(pod, 50))+" (p50)", "p50 <= 50 ms, <= 0.1x")

	burst, err := e.burstOf(ctx, kindRun, names("direct", directBurst), func(ctx context.Context, n string) error {
		return e.createRun(ctx, claimRun(n, directClaim, resultName))
	})
	if err != nil {
		return err
	}
	r.row(fmt.Sprintf("%d direct runs at once", directBurst), fmt.Sprint(directBurst), ms(percentile(burst, 50)), ms(percentile(burst, 90)), secs(percentile(burst, 100)), "-", "<= 5 s")

	var runs, gets []time.Duration
	for i := range directDigests {
		name := fmt.Sprintf("big-%d", i)
		d, err := e.one(ctx, key(kindRun, name), func(ctx context.Context) error { return e.createRun(ctx, claimRun(name, directClaim, directBig)) })
		if err != nil {
			return err
		}
		g, err := e.getAndHash(ctx, handle+"/"+directBig)
		if err != nil {
			return err
		}
		runs, gets = append(runs, d), append(gets, g)
	}
	r.row("200 MiB reference digest: a direct run vs GET + sha256 from this process, interleaved", fmt.Sprint(directDigests),
		secs(percentile(runs, 50))+" vs "+secs(percentile(gets, 50)), secs(percentile(runs, 90))+" vs "+secs(percentile(gets, 90)), "-",
		fmt.Sprintf("%.2fx the throughput (p50)", percentile(gets, 50).Seconds()/percentile(runs, 50).Seconds()), ">= 0.8x")

	peak := e.peakRSS(ctx)
	big, err := e.burstOf(ctx, kindRun, names("bigs", directBigBurst), func(ctx context.Context, n string) error {
		return e.createRun(ctx, claimRun(n, directClaim, directBig))
	})
	rss := peak()
	if err != nil {
		return err
	}
	r.row(fmt.Sprintf("%d direct runs of a 200 MiB reference at once", directBigBurst), fmt.Sprint(directBigBurst), secs(percentile(big, 50)), secs(percentile(big, 90)), secs(percentile(big, 100)),
		fmt.Sprintf("controller RSS peak %.0f MiB", rss/(1<<20)), "RSS < 200 MiB")
	return nil
}

// allowDirect sets the profile and the documented Role, and returns what
// puts both back.
func (e *env) allowDirect(ctx context.Context) (func(), error) {
	meta := metav1.ObjectMeta{Namespace: "kube-system", Name: directRoleName}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{credentialsName}, Verbs: []string{"get"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: meta.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: controllerNamespace, Name: "resultmaterialize-controller"}}}
	if _, err := e.kube.RbacV1().Roles(meta.Namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if _, err := e.kube.RbacV1().RoleBindings(meta.Namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	restoreConfig, err := e.setConfig(ctx, map[string]string{configProfilesKey: directProfile})
	if err != nil {
		return nil, err
	}
	return func() {
		bg := context.Background()
		restoreConfig()
		_ = e.kube.RbacV1().RoleBindings(meta.Namespace).Delete(bg, meta.Name, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().Roles(meta.Namespace).Delete(bg, meta.Name, metav1.DeleteOptions{})
	}, nil
}

const configProfilesKey = "object-store-profiles"

// directFixture makes the s3fs claim with the small result and the 200 MiB
// file written through its mount, and a claim on the same prefix mounted by
// rclone; it returns the prefix's bucket/prefix handle.
func (e *env) directFixture(ctx context.Context, class string) (string, error) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: directClaim}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To(class), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}}
	if _, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	writer := claimPod("write-s3", directClaim, fmt.Sprintf("printf %s > /data/%s && head -c %d /dev/urandom > /data/%s", resultValue, resultName, directBigBytes, directBig), false)
	if err := e.createPod(ctx, writer); err != nil {
		return "", err
	}
	select {
	case <-e.track.done(key(kindPod, "write-s3")):
	case <-time.After(5 * time.Minute):
		return "", fmt.Errorf("the pod writing the object-store claim did not finish in 5m")
	}
	pv, err := e.volumeOf(ctx, directClaim)
	if err != nil {
		return "", err
	}
	rclone := pv.DeepCopy()
	rclone.ObjectMeta = metav1.ObjectMeta{Name: e.ns + "-rclone"}
	rclone.Spec.ClaimRef = &corev1.ObjectReference{Namespace: e.ns, Name: podClaim}
	rclone.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	rclone.Spec.StorageClassName = ""
	rclone.Spec.CSI.VolumeAttributes = map[string]string{"mounter": "rclone"}
	if _, err := e.kube.CoreV1().PersistentVolumes().Create(ctx, rclone, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	claim := pvc.DeepCopy()
	claim.Name, claim.Spec.StorageClassName, claim.Spec.VolumeName = podClaim, ptr.To(""), rclone.Name
	if _, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	return pv.Spec.CSI.VolumeHandle, wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		c, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, podClaim, metav1.GetOptions{})
		return err == nil && c.Status.Phase == corev1.ClaimBound, nil
	})
}

// getAndHash times a GET and sha256 of the object from this process, with
// the credentials the PV names.
func (e *env) getAndHash(ctx context.Context, handleKey string) (time.Duration, error) {
	secret, err := e.kube.CoreV1().Secrets("kube-system").Get(ctx, credentialsName, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		data[k] = string(v)
	}
	creds, err := objectstore.FromSecret(data)
	if err != nil {
		return 0, err
	}
	loc, err := objectstore.Profile{Bucket: objectstore.BucketFromVolumeHandle}.Locate(&corev1.CSIPersistentVolumeSource{VolumeHandle: handleKey}, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	out, err := creds.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Prefix)})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// peakRSS scrapes the controller every second until the returned function
// is called, which returns the largest RSS seen.
func (e *env) peakRSS(ctx context.Context) func() float64 {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var peak float64
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
			if c, err := e.scrape(ctx); err == nil {
				mu.Lock()
				peak = max(peak, c.maxRSS)
				mu.Unlock()
			}
			return false, nil
		})
	}()
	return func() float64 {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func claimRun(name, claim, result string) *v1beta1.CustomRun {
	run := customRun(name, true, 0)
	run.Spec.Workspaces[0].PersistentVolumeClaim.ClaimName = claim
	run.Spec.Params[0].Value.ArrayVal = []string{result}
	return run
}

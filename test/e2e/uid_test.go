//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// arbitraryUID is a UID the reader image does not name, from the range
// OpenShift assigns namespaces.
const arbitraryUID = 1000770000

// TestReaderArbitraryUID: with reader-run-as-user set to a UID the image
// does not name, the reader reads a file only that UID may read; under the
// default UID the same file is unreadable; with "platform" the pod asks for
// no UID and runs as the image's user.
func TestReaderArbitraryUID(t *testing.T) {
	ctx, c, ns := setup(t)
	createClaim(ctx, t, c, ns, "")
	writeFiles(ctx, t, c, ns, fmt.Sprintf(
		"printf arbitrary > /data/mine && chown %d /data/mine && chmod 600 /data/mine && "+
			"printf image > /data/image && chown 65532 /data/image && chmod 600 /data/image", arbitraryUID))
	run := func(name, file string) string { return claimRun(name, "data", file) }

	_, cond := createCustomRun(ctx, t, c, ns, run("default-uid", "mine"))
	if cond.Status != corev1.ConditionFalse || cond.Reason != "ResultUnreadable" {
		t.Errorf("default UID: %s %s %q, want Failed ResultUnreadable: the file is readable by %d only", cond.Status, cond.Reason, cond.Message, arbitraryUID)
	}

	setConfig(ctx, t, c, map[string]string{"reader-run-as-user": fmt.Sprint(arbitraryUID)})
	got, cond := createCustomRun(ctx, t, c, ns, run("arbitrary-uid", "mine"))
	if cond.Status != corev1.ConditionTrue || results(got)["mine"] != "arbitrary" {
		t.Errorf("UID %d: %s %s %q results %v, want Succeeded with mine=arbitrary", arbitraryUID, cond.Status, cond.Reason, cond.Message, results(got))
	}

	setConfig(ctx, t, c, map[string]string{"reader-run-as-user": "platform"})
	got, cond = createCustomRun(ctx, t, c, ns, run("platform-uid", "image"))
	if cond.Status != corev1.ConditionTrue || results(got)["image"] != "image" {
		t.Errorf("platform: %s %s %q results %v, want Succeeded with image=image (the image's user)", cond.Status, cond.Reason, cond.Message, results(got))
	}
}

// writeFiles runs a shell command as root in a pod with the claim "data"
// mounted at /data, and waits for it to succeed.
func writeFiles(ctx context.Context, t *testing.T, c *clients, ns, script string) {
	t.Helper()
	writeClaim(ctx, t, c, ns, "data", script)
}

// writeClaim runs script in a pod named write-<claim> with the claim at
// /data, and waits until it succeeds.
func writeClaim(ctx context.Context, t *testing.T, c *clients, ns, claim, script string) {
	t.Helper()
	name := "write-" + claim
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{
				Name: "write", Image: "busybox", Command: []string{"/bin/sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}},
		},
	}
	if _, err := c.kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, runTimeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("the pod writing the files failed")
		}
		return p.Status.Phase == corev1.PodSucceeded, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The storage row: a file of the size the object-store e2e case writes,
// through each mounter of the test CSI driver and on local-path.
const (
	storageBytes  = 209715200
	storageRounds = 3
)

var storageClasses = []string{"local-path", "csi-s3-s3fs", "csi-s3-rclone"}

// busyboxTime is the "real" line of busybox's time.
var busyboxTime = regexp.MustCompile(`real\s+(\d+)m\s*([\d.]+)s`)

// storage times a 200 MiB write and read in pods on a claim of each class,
// interleaved round by round so machine noise hits every class. A pod that
// sleeps holds each claim throughout, as Tekton's affinity assistant holds
// a PipelineRun's, so the driver's staged mount stays up between pods.
// The source file is made in the writer pod before the clock starts; the
// write is a cp then a sync (local-path's bytes reach the disk; s3fs has
// uploaded on close; rclone has the file in its cache and uploads it
// later), the read is a dd to /dev/null in a new pod, as a reader pod
// reads after its producer: from the page cache on local-path.
func (e *env) storage(ctx context.Context) (*report, error) {
	r := &report{title: fmt.Sprintf("200 MiB through each mounter of the test CSI driver and on local-path, %d rounds", storageRounds)}
	for _, class := range storageClasses {
		if err := e.holdClaim(ctx, class); err != nil {
			return r, err
		}
	}
	writes, reads := map[string][]time.Duration{}, map[string][]time.Duration{}
	for round := range storageRounds {
		for _, class := range storageClasses {
			w, err := e.timedPod(ctx, fmt.Sprintf("write-%s-%d", class, round), class,
				fmt.Sprintf("head -c %d /dev/urandom > /tmp/src && time sh -c 'cp /tmp/src /data/f-%d && sync'", storageBytes, round), false)
			if err != nil {
				return r, err
			}
			rd, err := e.timedPod(ctx, fmt.Sprintf("read-%s-%d", class, round), class,
				fmt.Sprintf("time dd if=/data/f-%d of=/dev/null bs=1M", round), true)
			if err != nil {
				return r, err
			}
			writes[class], reads[class] = append(writes[class], w), append(reads[class], rd)
		}
	}
	for _, op := range []struct {
		name string
		ds   map[string][]time.Duration
	}{{"write", writes}, {"read", reads}} {
		base := percentile(op.ds["local-path"], 50)
		for _, class := range storageClasses {
			ds := op.ds[class]
			r.row(fmt.Sprintf("200 MiB %s, %s", op.name, class), strconv.Itoa(len(ds)), ms(percentile(ds, 50)), ms(percentile(ds, 90)), "-",
				ratio(percentile(ds, 50), base)+" of local-path", "-")
		}
	}
	r.note("rclone's write ends when its cache has the file; it uploads it 5 s later (--vfs-write-back 5s)")
	return r, nil
}

// holdClaim makes a claim of the class and a pod that mounts it until the
// namespace goes.
func (e *env) holdClaim(ctx context.Context, class string) error {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(class),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := e.kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return err
	}
	return e.createPod(ctx, claimPod("hold-"+class, class, "sleep 3600", true))
}

// timedPod runs a command that prints busybox's time and returns the time.
func (e *env) timedPod(ctx context.Context, name, class, command string, readOnly bool) (time.Duration, error) {
	if err := e.createPod(ctx, claimPod(name, class, command, readOnly)); err != nil {
		return 0, err
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	select {
	case <-e.track.done(key(kindPod, name)):
	case <-wait.Done():
		return 0, fmt.Errorf("pod %s did not finish in 5m", name)
	}
	log, err := e.kube.CoreV1().Pods(e.ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	m := busyboxTime.FindSubmatch(log)
	if !e.track.result(key(kindPod, name)).ok || m == nil {
		return 0, fmt.Errorf("pod %s failed or printed no time: %s", name, log)
	}
	minutes, _ := strconv.Atoi(string(m[1]))
	seconds, _ := strconv.ParseFloat(string(m[2]), 64)
	return time.Duration((float64(minutes)*60 + seconds) * float64(time.Second)), nil
}

func claimPod(name, claim, command string, readOnly bool) *corev1.Pod {
	pod := barePod(name, command, readOnly)
	pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = claim
	return pod
}

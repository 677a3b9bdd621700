package objectstore

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const k8sCSIS3 = `
- driver: ru.yandex.s3.csi
  bucket: volumeHandle
  credentials: nodePublishSecretRef
  exact:
    - {attribute: mounter, in: [s3fs]}
    - {attribute: options, contains: --fsync-on-close}
`

func TestParseProfilesNamesTheField(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"driver: x", "not a YAML list of profiles"},
		{"- {driver: d, bucket: bucketName, credentials: nodePublishSecretRef}", `profile 0 (driver "d"): bucket "bucketName": want volumeHandle, attributes or secret`},
		{"- {driver: d, bucket: attributes, credentials: nodePublishSecretRef}", "bucket attributes needs bucketAttribute"},
		{"- {driver: d, bucket: volumeHandle, credentials: env}", `credentials "env"`},
		{"- {driver: d, bucket: volumeHandle, credentials: namespace, secret: s3}", "needs secret and endpoint"},
		{"- {driver: d, bucket: secret, credentials: namespace, secret: s3, endpoint: http://s3:7070}", "bucket secret needs the Secret the PV names"},
		{"- {driver: d, bucket: volumeHandle, credentials: nodePublishSecretRef, secret: s3}", `secret "s3" is only for credentials namespace`},
		{"- {driver: d, bucket: volumeHandle, credentials: nodePublishSecretRef, endpoint: 169.254.169.254}", "want an http:// or https:// URL"},
		{"- {driver: d, bucket: volumeHandle, credentials: nodePublishSecretRef, exact: [{attribute: mounter}]}", "exact[0]: want an attribute and exactly one of in or contains"},
		{"- {driver: d, bucket: volumeHandle, credentials: nodePublishSecretRef, nope: 1}", "not a YAML list of profiles"},
		{k8sCSIS3 + k8sCSIS3, `driver "ru.yandex.s3.csi" has another profile`},
	} {
		_, err := ParseProfiles(tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseProfiles(%q): %v, want an error with %q", tc.value, err, tc.want)
		}
	}
}

func TestIsExactAndLocate(t *testing.T) {
	profiles, err := ParseProfiles(k8sCSIS3)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := For(profiles, "ru.yandex.s3.csi")
	if !ok {
		t.Fatal("no profile for the driver")
	}
	for _, tc := range []struct {
		attributes map[string]string
		exact      bool
	}{
		{map[string]string{"mounter": "s3fs"}, true},
		{map[string]string{"mounter": "geesefs"}, false},
		{map[string]string{"mounter": "geesefs", "options": "--memory-limit 1000 --fsync-on-close"}, true},
		{map[string]string{"mounter": "geesefs", "options": "--fsync-on-close-not"}, false},
		{map[string]string{"mounter": "rclone", "options": "--vfs-write-back 5s"}, false},
		{map[string]string{}, false},
	} {
		if got := p.IsExact(&corev1.CSIPersistentVolumeSource{VolumeAttributes: tc.attributes}); got != tc.exact {
			t.Errorf("IsExact(%v) = %v, want %v", tc.attributes, got, tc.exact)
		}
	}
	for handle, want := range map[string]string{
		"bucket/pvc-1":       "bucket|pvc-1",
		"bucket":             "bucket|",
		"bucket/a/b":         "bucket|a/b",
		"bucket/../other":    "error",
		"bucket/a//b":        "error",
		"bucket/":            "error",
		"/prefix":            "error",
		"bucket/./p":         "error",
		"bucket/p/..":        "error",
		"bucket/pvc-1/train": "bucket|pvc-1/train",
	} {
		loc, err := p.Locate(&corev1.CSIPersistentVolumeSource{VolumeHandle: handle}, nil)
		got := loc.Bucket + "|" + loc.Prefix
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("Locate(%q) = %s (%v), want %s", handle, got, err, want)
		}
	}
	if key := (Location{Bucket: "b", Prefix: "pvc-1"}).Key("train/model"); key != "pvc-1/train/model" {
		t.Errorf("Key = %q", key)
	}
	if key := (Location{Bucket: "b"}).Key("model"); key != "model" {
		t.Errorf("Key without prefix = %q", key)
	}
}

func TestLocateFromSecret(t *testing.T) {
	p := Profile{Driver: "ch.ctrox.csi.s3-driver", Bucket: BucketFromSecret}
	for _, tc := range []struct {
		secret map[string]string
		want   string
	}{
		{map[string]string{"bucket": "data"}, "data|"},
		{map[string]string{"bucket": "k3bkt", "folder": "runs/a"}, "its Secret names a folder"},
		{map[string]string{}, "its Secret has no bucket key"},
		{map[string]string{"bucket": "data/x"}, "is not a bucket name"},
		{map[string]string{"bucket": ".."}, "is not a bucket name"},
		{map[string]string{"bucket": "q7 z9"}, "is not a bucket name"},
	} {
		loc, err := p.Locate(&corev1.CSIPersistentVolumeSource{VolumeHandle: "pvc-1"}, tc.secret)
		got := loc.Bucket + "|" + loc.Prefix
		if err != nil {
			got = err.Error()
			for _, v := range tc.secret {
				if len(v) > 3 && strings.Contains(got, v) {
					t.Errorf("Locate(%v): %q quotes the Secret's value %q", tc.secret, got, v)
				}
			}
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("Locate(%v) = %s, want %s", tc.secret, got, tc.want)
		}
	}
}

// A namespace's Secret never picks the endpoint: the profile's wins, and
// a Secret naming another one is refused, as the volume may be mounted
// from that store.
func TestKeysProfileEndpointWins(t *testing.T) {
	p := Profile{Endpoint: "http://store.internal:7070", Region: "eu-1"}
	c, err := p.Keys(map[string]string{"accessKeyID": "a", "secretAccessKey": "s"})
	if err != nil || c.Endpoint != "http://store.internal:7070" || c.Region != "eu-1" {
		t.Errorf("Keys = %+v, %v; want the profile's endpoint and region", c, err)
	}
	for _, same := range []string{"http://store.internal:7070", "http://Store.Internal:7070/", " http://store.internal:7070\n"} {
		if _, err := p.Keys(map[string]string{"accessKeyID": "a", "secretAccessKey": "s", "endpoint": same}); err != nil {
			t.Errorf("the profile's own endpoint in the Secret as %q: %v", same, err)
		}
	}
	if !sameEndpoint("https://s3.example", "https://S3.example:443/") || sameEndpoint("http://s3.example", "https://s3.example") || sameEndpoint("http://a:80", "http://a:81") {
		t.Error("sameEndpoint: want default ports, case and slashes ignored, and schemes and ports told apart")
	}
	if c, err := p.Keys(map[string]string{"accessKeyID": "a", "secretAccessKey": "s", "endpoint": "http://169.254.169.254"}); err == nil || strings.Contains(err.Error(), "169.254") {
		t.Errorf("Keys = %+v, %v; want a refusal that does not quote the Secret's endpoint", c, err)
	}
}

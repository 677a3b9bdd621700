package main

import (
	"github.com/resultmaterialize/controller/pkg/objectstore"
	"slices"
	"strings"
	"testing"
)

const secretKey = "d6f0a2c91e7b"

var secrets = map[string]string{"accessKeyID": "id", "secretAccessKey": secretKey, "endpoint": "http://192.0.2.1:7070"}

func TestParseVolumeNamesWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		id         string
		attributes map[string]string
		secrets    map[string]string
		want       string
	}{
		{"/prefix", map[string]string{"mounter": "s3fs"}, secrets, `volume handle "/prefix": want <bucket>/<prefix>`},
		{"b/../other", map[string]string{"mounter": "rclone"}, secrets, `volume handle "b/../other"`},
		{"b/p/", map[string]string{"mounter": "s3fs"}, secrets, `volume handle "b/p/"`},
		{"b/./p", map[string]string{"mounter": "s3fs"}, secrets, `volume handle "b/./p"`},
		{"b/p", map[string]string{"mounter": "geesefs"}, secrets, `volumeAttributes.mounter "geesefs": this driver mounts with s3fs or rclone`},
		{"b/p", map[string]string{"mounter": "s3fs"}, map[string]string{"accessKeyID": "id", "secretAccessKey": "key"}, `no "endpoint" key`},
	} {
		_, err := parseVolume(tc.id, objectstore.BucketFromVolumeHandle, tc.attributes, tc.secrets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseVolume(%q, %v): %v, want an error with %q", tc.id, tc.attributes, err, tc.want)
		}
	}
}

// In datashim's shape the Secret names the bucket, mounted whole by s3fs
// and rclone even when it names a folder too.
func TestParseVolumeDatashimShape(t *testing.T) {
	for _, tc := range []struct {
		extra map[string]string
		want  string
	}{
		{map[string]string{"bucket": "data"}, "data|"},
		{map[string]string{"bucket": "data", "folder": "runs/a"}, "data|"},
		{map[string]string{}, "error"},
	} {
		withExtra := map[string]string{}
		for k, v := range secrets {
			withExtra[k] = v
		}
		for k, v := range tc.extra {
			withExtra[k] = v
		}
		v, err := parseVolume("pvc-1", objectstore.BucketFromSecret, map[string]string{"mounter": "s3fs"}, withExtra)
		got := v.bucket + "|" + v.prefix
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("parseVolume(%v) = %s (%v), want %s", tc.extra, got, err, tc.want)
		}
	}
}

// The mounters get k8s-csi-s3's options, the class's options after them,
// and the keys in the environment only, never on the command line.
func TestCommandKeepsKeysOffTheCommandLine(t *testing.T) {
	for _, mounter := range []string{"s3fs", "rclone"} {
		v, err := parseVolume("bucket/pvc-1", objectstore.BucketFromVolumeHandle, map[string]string{"mounter": mounter, "options": "--extra one"}, secrets)
		if err != nil {
			t.Fatal(err)
		}
		cmd := v.command("/mnt/target", "/cache")
		if slices.ContainsFunc(cmd.Args, func(a string) bool { return strings.Contains(a, secretKey) }) {
			t.Errorf("%s: the secret key is on the command line: %v", mounter, cmd.Args)
		}
		if !slices.Contains(cmd.Env, map[string]string{"s3fs": "AWSSECRETACCESSKEY=", "rclone": "AWS_SECRET_ACCESS_KEY="}[mounter]+secretKey) {
			t.Errorf("%s: the secret key is not in the environment", mounter)
		}
		if got := cmd.Args[len(cmd.Args)-2:]; !slices.Equal(got, []string{"--extra", "one"}) {
			t.Errorf("%s: the class's options %v, want them last", mounter, got)
		}
		if !slices.Contains(cmd.Args, map[string]string{"s3fs": "bucket:/pvc-1", "rclone": ":s3:bucket/pvc-1"}[mounter]) {
			t.Errorf("%s: %v does not name the bucket and prefix", mounter, cmd.Args)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescape(`/var/lib/a\040b\134c`); got != `/var/lib/a b\c` {
		t.Errorf("unescape = %q", got)
	}
}

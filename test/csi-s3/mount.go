package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/resultmaterialize/controller/pkg/objectstore"
)

// volume is what a PV says about its bucket and how to mount it.
type volume struct {
	bucket, prefix string
	mounter        string
	options        []string
	credentials    objectstore.Credentials
}

// parseVolume reads a PV in the driver's shape: bucketFrom is
// objectstore.BucketFromVolumeHandle, k8s-csi-s3's <bucket>/<prefix>
// handle, or objectstore.BucketFromSecret, datashim's csi-s3, which
// mounts the Secret's bucket key whole with s3fs and rclone (only its
// goofys, not here, mounts the folder key).
func parseVolume(id, bucketFrom string, attributes, secrets map[string]string) (volume, error) {
	var bucket, prefix string
	if bucketFrom == objectstore.BucketFromSecret {
		bucket = secrets["bucket"]
		if bucket == "" {
			return volume{}, fmt.Errorf("volume %q: its Secret has no bucket key", id)
		}
	} else {
		loc, err := objectstore.ParseHandle(id)
		if err != nil {
			return volume{}, err
		}
		bucket, prefix = loc.Bucket, loc.Prefix
	}
	credentials, err := objectstore.FromSecret(secrets)
	if err != nil {
		return volume{}, fmt.Errorf("volume %q: %w", id, err)
	}
	v := volume{bucket: bucket, prefix: prefix, mounter: attributes["mounter"], options: strings.Fields(attributes["options"]), credentials: credentials}
	switch v.mounter {
	case "s3fs", "rclone":
		return v, nil
	default:
		return volume{}, fmt.Errorf("volume %q: volumeAttributes.mounter %q: this driver mounts with s3fs or rclone", id, v.mounter)
	}
}

// command is the mounter's command line, in the foreground so the driver
// knows its pid, with the options k8s-csi-s3 gives it.
func (v volume) command(target, cache string) *exec.Cmd {
	c := v.credentials
	var cmd *exec.Cmd
	switch v.mounter {
	case "s3fs":
		args := []string{strings.TrimSuffix(v.bucket+":/"+v.prefix, ":/"), target, "-f",
			"-o", "use_path_request_style", "-o", "url=" + c.Endpoint, "-o", "endpoint=" + c.Region,
			"-o", "allow_other", "-o", "mp_umask=000"}
		cmd = exec.Command("s3fs", append(args, v.options...)...)
		cmd.Env = append(environ(), "AWSACCESSKEYID="+c.AccessKeyID, "AWSSECRETACCESSKEY="+c.SecretAccessKey)
	default:
		args := []string{"mount", ":s3:" + strings.TrimSuffix(v.bucket+"/"+v.prefix, "/"), target,
			"--s3-provider=Other", "--s3-env-auth=true", "--s3-endpoint=" + c.Endpoint, "--s3-region=" + c.Region,
			"--allow-other", "--vfs-cache-mode=writes", "--cache-dir=" + cache}
		cmd = exec.Command("rclone", append(args, v.options...)...)
		cmd.Env = append(environ(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "RCLONE_CONFIG=/dev/null")
	}
	return cmd
}

// environ is the driver's environment without AWS settings: a mounter's
// endpoint and keys come from the volume's Secret alone.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS") && !strings.HasPrefix(kv, "RCLONE_") {
			env = append(env, kv)
		}
	}
	return env
}

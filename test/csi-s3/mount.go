package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/resultmaterialize/controller/test/objectstore"
)

// mountTimeout bounds how long a FUSE mounter may take to mount, and how
// long an unmounted one may take to exit (rclone uploads what it still
// holds first).
const mountTimeout = 60 * time.Second

// volume is what a PV says about its bucket and how to mount it.
type volume struct {
	bucket, prefix string
	mounter        string
	options        []string
	credentials    objectstore.Credentials
}

func parseVolume(id string, attributes, secrets map[string]string) (volume, error) {
	bucket, prefix := objectstore.SplitHandle(id)
	if bucket == "" {
		return volume{}, fmt.Errorf("volume handle %q names no bucket: want <bucket>/<prefix>", id)
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

// mounts runs the FUSE mounters. Each one's pid is kept in a file under the
// state directory, so the harness stops them by their own pids.
type mounts struct {
	dir string
}

func newMounts(dir string) *mounts {
	return &mounts{dir: dir}
}

func (m *mounts) files(target string) (pid, log, cache string) {
	sum := sha256.Sum256([]byte(target))
	key := hex.EncodeToString(sum[:8])
	return filepath.Join(m.dir, "pids", key+".pid"), filepath.Join(m.dir, "logs", key+".log"), filepath.Join(m.dir, "cache", key)
}

// fuse starts the mounter and waits until the target is a mount point.
func (m *mounts) fuse(v volume, target string) error {
	pidFile, logFile, cache := m.files(target)
	for _, dir := range []string{filepath.Dir(pidFile), filepath.Dir(logFile), cache} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := v.command(target, cache)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return err
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		_ = out.Close()
	}()
	deadline := time.After(mountTimeout)
	for {
		if mounted, err := isMountPoint(target); err != nil || mounted {
			return err
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited before it mounted (%w): %s", v.mounter, err, tail(logFile))
		case <-deadline:
			return fmt.Errorf("%s did not mount in %s: %s", v.mounter, mountTimeout, tail(logFile))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// release unmounts a staged mount and waits for its mounter to exit; the
// mounter may be a previous driver process's child.
func (m *mounts) release(target string) error {
	pidFile, _, cache := m.files(target)
	if err := flushed(cache); err != nil {
		return err
	}
	if err := unmount(target); err != nil {
		return err
	}
	raw, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		return fmt.Errorf("pid file %s: %w", pidFile, err)
	}
	for deadline := time.Now().Add(mountTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			if err := os.RemoveAll(cache); err != nil {
				return err
			}
			return os.Remove(pidFile)
		}
	}
	return fmt.Errorf("the mounter of %s (pid %d) did not exit in %s after unmount", target, pid, mountTimeout)
}

// flushed waits until rclone's write-back cache holds no file it has not
// uploaded: rclone exits on unmount without uploading them, where geesefs
// and s3fs flush first. Past mountTimeout it fails, and the kubelet tries
// the unstage again later.
func flushed(cache string) error {
	var dirty []string
	for deadline := time.Now().Add(mountTimeout); ; time.Sleep(time.Second) {
		dirty = dirty[:0]
		err := filepath.WalkDir(filepath.Join(cache, "vfsMeta"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			var meta struct{ Dirty bool }
			raw, err := os.ReadFile(path)
			if err == nil && json.Unmarshal(raw, &meta) == nil && meta.Dirty {
				dirty = append(dirty, path)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if len(dirty) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rclone has not uploaded %d files in %s, among them %s", len(dirty), mountTimeout, dirty[0])
		}
	}
}

func tail(file string) string {
	b, _ := os.ReadFile(file)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// isMountPoint tells whether path is a mount point in this mount namespace.
// A FUSE mount whose process died is still one, but stat fails on it:
// it is unmounted here so the caller mounts again.
func isMountPoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	want := filepath.Clean(path)
	found := false
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) > 4 && unescape(fields[4]) == want {
			found = true
		}
	}
	if err := scanner.Err(); err != nil || !found {
		return false, err
	}
	if _, err := os.Stat(want); err != nil {
		return false, exec.Command("umount", want).Run()
	}
	return true, nil
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and
// backslash.
func unescape(field string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(field)
}

func bind(source, target string, readOnly bool) error {
	if out, err := exec.Command("mount", "--bind", source, target).CombinedOutput(); err != nil {
		return fmt.Errorf("mount --bind: %w: %s", err, out)
	}
	if !readOnly {
		return nil
	}
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", target).CombinedOutput(); err != nil {
		return fmt.Errorf("remounting read-only: %w: %s", err, out)
	}
	return nil
}

func unmount(path string) error {
	mounted, err := isMountPoint(path)
	if err != nil || !mounted {
		return err
	}
	if out, err := exec.Command("umount", path).CombinedOutput(); err != nil {
		return fmt.Errorf("umount %s: %w: %s", path, err, out)
	}
	return nil
}

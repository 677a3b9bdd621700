package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mountTimeout bounds how long a FUSE mounter may take to mount, and how
// long an unmounted one may take to exit; flushTimeout how long an unstage
// waits for rclone to upload what it holds (a write-back delay, an upload,
// a retry 10 s after a failed one).
const (
	mountTimeout = 60 * time.Second
	flushTimeout = 2 * time.Minute
)

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
	// A mounter that has not mounted when this returns an error is stopped,
	// so the kubelet's retry never finds two on one path.
	stop := func(err error) error {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		killed := <-exited
		_ = os.Remove(pidFile)
		return errors.Join(err, fmt.Errorf("%s stopped: %w", v.mounter, killed))
	}
	deadline := time.After(mountTimeout)
	for {
		mounted, err := isMountPoint(target)
		if err != nil {
			return stop(err)
		}
		if mounted {
			return nil
		}
		select {
		case err := <-exited:
			_ = os.Remove(pidFile)
			return fmt.Errorf("%s exited before it mounted (%w): %s", v.mounter, err, tail(logFile))
		case <-deadline:
			return stop(fmt.Errorf("%s did not mount in %s: %s", v.mounter, mountTimeout, tail(logFile)))
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
		return os.RemoveAll(cache)
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		return fmt.Errorf("pid file %s: %w", pidFile, err)
	}
	for deadline := time.Now().Add(mountTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !mounterOf(pid, target) {
			if err := os.RemoveAll(cache); err != nil {
				return err
			}
			return os.Remove(pidFile)
		}
	}
	return fmt.Errorf("the mounter of %s (pid %d) did not exit in %s after unmount", target, pid, mountTimeout)
}

// mounterOf tells whether pid is alive and is the mounter of target: its
// command line names the target, so a pid reused since is not waited on.
func mounterOf(pid int, target string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && slices.Contains(strings.Split(string(cmdline), "\x00"), target)
}

// flushed waits until rclone's write-back cache holds no file it has not
// uploaded: rclone exits on unmount without uploading them. Past
// flushTimeout it fails, and the kubelet tries the unstage again later.
func flushed(cache string) error {
	var dirty []string
	for deadline := time.Now().Add(flushTimeout); ; time.Sleep(time.Second) {
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
			return fmt.Errorf("rclone has not uploaded %d files in %s, among them %s", len(dirty), flushTimeout, dirty[0])
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

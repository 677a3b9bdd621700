package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// isMountPoint tells whether path is a mount point in this mount namespace.
// A FUSE mount whose process died is still one, but stat fails on it with
// ENOTCONN: it is unmounted here so the caller mounts again.
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
		if !corrupted(err) {
			return false, err
		}
		return false, exec.Command("umount", want).Run()
	}
	return true, nil
}

// corrupted tells a dead mount's stat error (as k8s.io/mount-utils'
// IsCorruptedMnt does) from one a live mount may give.
func corrupted(err error) bool {
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ESTALE) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EHOSTDOWN)
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

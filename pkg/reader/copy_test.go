package reader

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var out bytes.Buffer
	if err := Copy(root, "model", &out); err != nil || out.String() != "weights" {
		t.Errorf("Copy(model) = %q, %v", out.String(), err)
	}
	for path, want := range map[string]string{
		"escape":    "escapes the workspace",
		"adir":      "is a directory",
		"missing":   "does not exist",
		"../secret": `contains ".."`,
	} {
		out.Reset()
		if err := Copy(root, path, &out); err == nil || !strings.Contains(err.Error(), want) || out.Len() != 0 {
			t.Errorf("Copy(%s) = %q, %v; want nothing and an error with %q", path, out.String(), err, want)
		}
	}
}

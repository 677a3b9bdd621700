package reader

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/protocol"
)

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// workspace builds a hostile workspace below a temp dir, with a secret
// file outside it that nothing may reach.
func workspace(t *testing.T) *os.Root {
	t.Helper()
	top := t.TempDir()
	ws := filepath.Join(top, "ws")
	must(t, os.MkdirAll(filepath.Join(ws, "dir"), 0o755))
	must(t, os.WriteFile(filepath.Join(top, "secret"), []byte("outside"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "small"), []byte("hello"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "empty"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "nul"), []byte("a\x00b"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "bad-utf8"), []byte("ok\xff"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "big"), []byte(strings.Repeat("x", 100)), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "dir", "inner"), []byte("inner"), 0o644))
	must(t, os.WriteFile(filepath.Join(ws, "unreadable"), []byte("no"), 0o000))
	must(t, os.Symlink("dir/inner", filepath.Join(ws, "link-inside")))
	must(t, os.Symlink("../secret", filepath.Join(ws, "link-relative-escape")))
	must(t, os.Symlink(filepath.Join(top, "secret"), filepath.Join(ws, "link-absolute-escape")))
	must(t, os.Symlink("loop-b", filepath.Join(ws, "loop-a")))
	must(t, os.Symlink("loop-a", filepath.Join(ws, "loop-b")))
	must(t, syscall.Mkfifo(filepath.Join(ws, "fifo"), 0o644))
	l, err := net.Listen("unix", filepath.Join(ws, "sock"))
	must(t, err)
	t.Cleanup(func() { l.Close() })
	root, err := os.OpenRoot(ws)
	must(t, err)
	t.Cleanup(func() { root.Close() })
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type readCase struct {
	path    string
	limit   int64
	found   bool
	size    int64
	head    string
	errText string
}

func TestReadHostileWorkspace(t *testing.T) {
	root := workspace(t)
	tests := []readCase{
		{path: "small", limit: 10, found: true, size: 5, head: "hello"},
		{path: "empty", limit: 10, found: true, size: 0, head: ""},
		{path: "nul", limit: 10, found: true, size: 3, head: "a\x00b"},
		{path: "bad-utf8", limit: 10, found: true, size: 3, head: "ok\xff"},
		{path: "big", limit: 10, found: true, size: 100, head: ""},
		{path: "link-inside", limit: 10, found: true, size: 5, head: "inner"},
		{path: "dir/inner", limit: 10, found: true, size: 5, head: "inner"},
		{path: "missing", limit: 10},
		{path: "dir/missing", limit: 10},
		{path: "../secret", limit: 10, found: true, errText: `path "../secret" contains ".."`},
		{path: "/etc/passwd", limit: 10, found: true, errText: `path "/etc/passwd" is absolute`},
		{path: "link-relative-escape", limit: 10, found: true, errText: `"link-relative-escape" escapes the workspace`},
		{path: "link-absolute-escape", limit: 10, found: true, errText: `"link-absolute-escape" escapes the workspace`},
		{path: "loop-a", limit: 10, found: true, errText: `"loop-a": too many levels of symbolic links`},
		{path: "fifo", limit: 10, found: true, errText: `"fifo" is a FIFO, not a regular file`},
		{path: "sock", limit: 10, found: true, errText: `"sock" is a socket, not a regular file`},
		{path: "dir", limit: 10, found: true, errText: `"dir" is a directory, not a regular file`},
		{path: ".", limit: 10, found: true, errText: `"." is a directory, not a regular file`},
	}
	if os.Getuid() != 0 {
		tests = append(tests, readCase{path: "unreadable", limit: 10, found: true, errText: `"unreadable": permission denied`})
	}
	buf := make([]byte, 16)
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			done := make(chan protocol.FileReport, 1)
			go func() { done <- Read(root, protocol.FileRequest{Path: tc.path, Limit: tc.limit}, buf) }()
			var got protocol.FileReport
			select {
			case got = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("Read(%q) blocked", tc.path)
			}
			if got.Found != tc.found || string(got.Head) != tc.head || got.Size != tc.size {
				t.Errorf("Read(%q) = found %v size %d head %q; want %v %d %q", tc.path, got.Found, got.Size, got.Head, tc.found, tc.size, tc.head)
			}
			if strings.Contains(string(got.Head), "outside") {
				t.Errorf("Read(%q) leaked content from outside the workspace", tc.path)
			}
			gotErr := ""
			if got.Error != nil {
				gotErr = got.Error.Message
			}
			if (tc.errText == "") != (gotErr == "") || !strings.Contains(gotErr, tc.errText) {
				t.Errorf("Read(%q) error = %q, want one containing %q", tc.path, gotErr, tc.errText)
			}
			if tc.errText == "" && tc.found {
				content, _ := os.ReadFile(filepath.Join(root.Name(), tc.path))
				if got.SHA256 != digest(string(content)) {
					t.Errorf("Read(%q) sha256 = %s, want %s", tc.path, got.SHA256, digest(string(content)))
				}
			}
		})
	}
}

func TestReadTruncateKeepsHead(t *testing.T) {
	root := workspace(t)
	got := Read(root, protocol.FileRequest{Path: "big", Limit: 10, KeepOversizeHead: true}, make([]byte, 7))
	if string(got.Head) != strings.Repeat("x", 10) || got.Size != 100 || got.SHA256 != digest(strings.Repeat("x", 100)) {
		t.Errorf("got head %q size %d sha %s", got.Head, got.Size, got.SHA256)
	}
}

func TestReadSparseMultiGiB(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "sparse"))
	must(t, err)
	const size = 2 << 30
	must(t, f.Truncate(size))
	must(t, f.Close())
	if testing.Short() {
		t.Skip("hashing 2 GiB takes several seconds; run without -short")
	}
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	got := Read(root, protocol.FileRequest{Path: "sparse", Limit: 4096}, make([]byte, bufferSize))
	if got.Size != size || got.Error != nil || len(got.Head) != 0 {
		t.Fatalf("got size %d error %v head %d bytes; want %d, none, none", got.Size, got.Error, len(got.Head), size)
	}
	h := sha256.New()
	zeros := make([]byte, 1<<20)
	for i := 0; i < size>>20; i++ {
		h.Write(zeros)
	}
	if want := hex.EncodeToString(h.Sum(nil)); got.SHA256 != want {
		t.Errorf("sha256 = %s, want %s", got.SHA256, want)
	}
}

func FuzzReadPath(f *testing.F) {
	for _, p := range []string{"small", "../secret", "/etc/passwd", "link-relative-escape", "dir/../../secret", "fifo", "a\x00"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		root := workspace(t)
		done := make(chan protocol.FileReport, 1)
		go func() { done <- Read(root, protocol.FileRequest{Path: p, Limit: 1 << 10}, make([]byte, 64)) }()
		select {
		case got := <-done:
			if strings.Contains(string(got.Head), "outside") {
				t.Fatalf("Read(%q) leaked content from outside the workspace", p)
			}
			if got.Error == nil && got.Found && got.SHA256 == "" {
				t.Fatalf("Read(%q) found a file without a digest", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Read(%q) blocked", p)
		}
	})
}

// TestStatErrors covers the errors root cannot provoke in a test that runs
// as root (which reads any file regardless of its mode).
func TestStatErrors(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "openat", Path: "f", Err: syscall.EACCES}, `"f": permission denied for the reader`},
		{&os.PathError{Op: "openat", Path: "f", Err: syscall.ENXIO}, `"f" is a socket or device, not a regular file`},
		{&os.PathError{Op: "openat", Path: "f", Err: syscall.EIO}, `"f": input/output error`},
	}
	for _, tc := range tests {
		got := statError(protocol.FileReport{Path: "f"}, tc.err)
		if got.Error == nil || !strings.Contains(got.Error.Message, tc.want) || !got.Found {
			t.Errorf("statError(%v) = %+v, want a found file with an error containing %q", tc.err, got.Error, tc.want)
		}
	}
	if got := statError(protocol.FileReport{Path: "f"}, &os.PathError{Op: "openat", Path: "f", Err: syscall.ENOENT}); got.Found || got.Error != nil {
		t.Errorf("a missing file = %+v, want not found and no error", got)
	}
}

package objectstore

import (
	"path"
	"strings"
	"testing"

	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
)

// FuzzKeyStaysInThePrefix: every path the reader would accept (CleanPath)
// maps to a key below the volume's prefix (or to the prefix itself, for
// the root), with no empty, "." or ".." segment, so a direct read never
// names an object outside the volume.
func FuzzKeyStaysInThePrefix(f *testing.F) {
	for _, seed := range []string{"out/model", "./a", "a/../b", "../x", "a//b", "/etc/passwd", "a/./b/", "..", "é/ü", "a%2F..%2Fb"} {
		f.Add("sub", seed)
		f.Add("", seed)
	}
	loc := Location{Bucket: "artifacts", Prefix: "pvc-1"}
	f.Fuzz(func(t *testing.T, subPath, p string) {
		if subPath != "" {
			if _, err := resultmaterialize.CleanPath(subPath); err != nil {
				return
			}
		}
		clean, err := resultmaterialize.CleanPath(path.Join(subPath, p))
		if err != nil {
			return
		}
		key := loc.Key(clean)
		if clean == "." && key == loc.Prefix {
			return // the volume's root, a directory
		}
		if !strings.HasPrefix(key, loc.Prefix+"/") {
			t.Fatalf("Key(%q) = %q, outside the prefix %q", clean, key, loc.Prefix)
		}
		for _, segment := range strings.Split(strings.TrimPrefix(key, loc.Prefix+"/"), "/") {
			if segment == "" || segment == "." || segment == ".." {
				t.Fatalf("Key(%q) = %q has the segment %q", clean, key, segment)
			}
		}
	})
}

package resultmaterialize

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// resultNameFormat is Tekton's rule for result names.
var resultNameFormat = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)

// CheckName reports whether name is a valid Tekton result name.
func CheckName(name string) error {
	if len(name) > MaxNameLength {
		return fmt.Errorf("result name %q is %d characters, above the limit of %d", name, len(name), MaxNameLength)
	}
	if !resultNameFormat.MatchString(name) {
		return fmt.Errorf("%q is not a valid result name: want letters, digits, '-', '_' or '.', starting and ending with a letter or digit", name)
	}
	return nil
}

// CheckCollisions reports the first result name that equals another
// result's name or one of its companions (a result "a-size" next to "a").
func CheckCollisions(names []string) error {
	owner := map[string]string{}
	for _, n := range names {
		if prev, ok := owner[n]; ok {
			if prev == n {
				return fmt.Errorf("result %q is listed twice", n)
			}
			return fmt.Errorf("result %q collides with a companion of result %q", n, prev)
		}
		owner[n] = n
	}
	for _, n := range names {
		for _, c := range AllCompanions() {
			if prev, ok := owner[n+c.Suffix]; ok && prev != n {
				return fmt.Errorf("result %q collides with a companion of result %q", prev, n)
			}
			owner[n+c.Suffix] = n
		}
	}
	return nil
}

// CleanPath checks that p is a relative path that stays inside the
// workspace and returns it cleaned. It refuses empty and absolute paths,
// any ".." element and NUL bytes. Symlinks are the reader's concern.
func CleanPath(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("path is empty")
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	case len(p) > MaxPathLength:
		return "", fmt.Errorf("path %.64q... is %d bytes, above the limit of %d", p, len(p), MaxPathLength)
	case path.IsAbs(p):
		return "", fmt.Errorf("path %q is absolute: want a path relative to the workspace root", p)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return "", fmt.Errorf("path %q contains \"..\": paths must stay inside the workspace", p)
		}
	}
	return path.Clean(p), nil
}

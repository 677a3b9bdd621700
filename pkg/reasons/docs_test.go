package reasons

// The tests in this file hold the README and docs/ against the repository
// itself rather than against a list in code. They live here because this
// package's tests already read docs/ and it imports nothing, so they
// compile in a moment.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

const (
	repoRoot = "../.."
	// readmeMaxLines keeps the README a five-minute read; detail belongs
	// in docs/.
	readmeMaxLines = 250
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// goPackageDirs returns every directory under pkg/ that holds Go files,
// relative to the repository root, with the generated packages under
// pkg/client folded into pkg/client itself.
func goPackageDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(filepath.Join(repoRoot, "pkg"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		rel, err := filepath.Rel(repoRoot, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "pkg/client" || strings.HasPrefix(rel, "pkg/client/") {
			rel = "pkg/client"
		}
		if !slices.Contains(dirs, rel) {
			dirs = append(dirs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// mentions reports whether doc names dir as a whole path: pkg/apis/x/v1
// does not name pkg/apis/x.
func mentions(doc, dir string) bool {
	return regexp.MustCompile(`(^|[^\w/-])` + regexp.QuoteMeta(dir) + `($|[^\w/-])`).MatchString(doc)
}

// TestArchitectureNamesEveryPackage: docs/architecture.md describes every
// package under pkg/ (the generated pkg/client as one), and names no
// package that is gone.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc := readRepoFile(t, "docs/architecture.md")
	dirs := goPackageDirs(t)
	if len(dirs) == 0 {
		t.Fatal("found no Go package under pkg/")
	}
	for _, dir := range dirs {
		if !mentions(doc, dir) {
			t.Errorf("docs/architecture.md does not describe %s: add what it owns and what it imports", dir)
		}
	}
	for _, named := range regexp.MustCompile(`\bpkg/[\w/-]*\w`).FindAllString(doc, -1) {
		if info, err := os.Stat(filepath.Join(repoRoot, named)); err != nil || !info.IsDir() {
			t.Errorf("docs/architecture.md names %s, which is not a directory", named)
		}
	}
}

// TestReadmeIsShortWithContents: the README stays a five-minute read, and
// its Contents section links every other section of it.
func TestReadmeIsShortWithContents(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	lines := strings.Split(strings.TrimRight(readme, "\n"), "\n")
	if len(lines) > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move detail to docs/", len(lines), readmeMaxLines)
	}
	var sections []string
	contents, inContents := "", false
	for _, line := range lines {
		if title, ok := strings.CutPrefix(line, "## "); ok {
			inContents = title == "Contents"
			if !inContents {
				sections = append(sections, title)
			}
			continue
		}
		if inContents {
			contents += line + "\n"
		}
	}
	if contents == "" {
		t.Fatal(`README.md has no "## Contents" section`)
	}
	for _, title := range sections {
		if !strings.Contains(contents, "](#"+anchor(title)+")") {
			t.Errorf("README.md's Contents does not link its section %q (#%s)", title, anchor(title))
		}
	}
}

// TestDocsLinksResolve: every relative link in README.md and docs/*.md
// names a file that exists and, in a Markdown file, a heading it has.
func TestDocsLinksResolve(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(repoRoot, d)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range files {
		text := prose(readRepoFile(t, file))
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.ToSlash(filepath.Join(filepath.Dir(file), path))
				if _, err := os.Stat(filepath.Join(repoRoot, dest)); err != nil {
					t.Errorf("%s links %s: %s does not exist", file, target, dest)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !slices.Contains(anchors(readRepoFile(t, dest)), frag) {
				t.Errorf("%s links %s: %s has no heading #%s", file, target, dest, frag)
			}
		}
	}
}

// prose drops fenced code blocks and inline code, where brackets and
// parentheses are not links.
func prose(md string) string {
	return regexp.MustCompile("`[^`]*`").ReplaceAllString(unfenced(md), "")
}

// unfenced drops fenced code blocks, whose lines are neither headings nor
// links.
func unfenced(md string) string {
	var b strings.Builder
	fenced := false
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// anchors lists the fragment of every heading of md, as GitHub makes
// them: a repeated heading gets -1, -2 and so on.
func anchors(md string) []string {
	var out []string
	seen := map[string]int{}
	for line := range strings.SplitSeq(unfenced(md), "\n") {
		trimmed := strings.TrimLeft(line, "#")
		if len(trimmed) == len(line) || !strings.HasPrefix(trimmed, " ") {
			continue
		}
		a := anchor(trimmed)
		if n := seen[a]; n > 0 {
			out = append(out, a+"-"+strconv.Itoa(n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// anchor is GitHub's fragment for a heading: lower case, everything but
// letters, digits, marks, '_', '-' and spaces dropped, each space turned
// into a hyphen.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestMakeFuzzRunsEveryTarget fails when a fuzz target is missing from
// the Makefile's fuzz target, or run there from another package.
func TestMakeFuzzRunsEveryTarget(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`)
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range target.FindAllStringSubmatch(string(src), -1) {
			want := fmt.Sprintf("-fuzz %s -fuzztime 20s ./pkg/%s/", m[1], filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../"))))
			if !strings.Contains(string(makefile), want) {
				t.Errorf("make fuzz does not run %s: want a line with %q", m[1], want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

package rmat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
)

// ManifestFile is the name of the manifest cp writes beside the results.
const ManifestFile = "manifest.json"

// Copied is one result cp wrote, as its manifest lists it.
type Copied struct {
	Task   string `json:"task"`
	Result string `json:"result"`
	// File is the result's file, relative to the directory, and Size and
	// SHA256 what was written to it: for a projection kept in the
	// workspace, its source document.
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Source is where the bytes were read: the run's status, a ConfigMap
	// or a claim, as ls shows it.
	Source string `json:"source"`
	// Verified says the bytes have the digest the run published; false
	// for a changed file (cp then exits as cat does) or a defaulted value,
	// which has no digest.
	Verified bool `json:"verified"`
}

// Manifest is what cp wrote.
type Manifest struct {
	Results []Copied `json:"results"`
}

// CopyAll writes every result of the entries that match task and result
// ("" matches all) to dir/TASK/RESULT, each checked as cat checks it, and
// dir/manifest.json listing them. Runs that did not succeed are left out.
// A changed file is still written, and listed as not verified: CopyAll then
// returns ErrMismatch once every result is written.
func CopyAll(ctx context.Context, c Clients, f Fetch, runs []v1beta1.CustomRun, entries []Entry, dir, task, result string) (Manifest, error) {
	byName := map[string]*v1beta1.CustomRun{}
	for i := range runs {
		byName[runs[i].Name] = &runs[i]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, err
	}
	// A manifest of an earlier copy must not outlive a copy that fails.
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Manifest{}, err
	}
	r := newReader(c, f)
	defer r.close(ctx)
	m := Manifest{Results: []Copied{}}
	var mismatched []string
	for _, e := range entries {
		if e.State != "Succeeded" || e.Result == "-" || (task != "" && e.Task != task) || (result != "" && e.Result != result) {
			continue
		}
		if strings.ContainsAny(e.Task+e.Result, `/\`) || e.Task == ".." || e.Result == ".." {
			return m, fmt.Errorf("result %s.%s: its name cannot be a file name", e.Task, e.Result)
		}
		file := filepath.Join(e.Task, e.Result)
		size, digest, err := writeFile(ctx, r, byName[e.Run], e, filepath.Join(dir, file))
		if err != nil && !errors.Is(err, ErrMismatch) {
			return m, err
		}
		if err != nil {
			mismatched = append(mismatched, e.Task+"."+e.Result)
		}
		m.Results = append(m.Results, Copied{Task: e.Task, Result: e.Result, File: file, Size: size, SHA256: digest, Source: e.Location, Verified: err == nil && e.SHA256 != ""})
	}
	if len(m.Results) == 0 {
		return m, fmt.Errorf("no result of a succeeded run matched task %q and result %q", task, result)
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(raw, '\n'), 0o644); err != nil {
		return m, err
	}
	if len(mismatched) > 0 {
		return m, fmt.Errorf("%w: %s (written, and listed as not verified in %s)", ErrMismatch, strings.Join(mismatched, ", "), ManifestFile)
	}
	return m, nil
}

// writeFile writes the result to path and says how many bytes it wrote
// and their sha256.
func writeFile(ctx context.Context, r *reader, run *v1beta1.CustomRun, e Entry, path string) (int64, string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, "", err
	}
	out, err := os.Create(path)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	counted := &counter{w: io.MultiWriter(out, h)}
	werr := r.write(ctx, run, e, counted)
	if cerr := out.Close(); werr == nil {
		werr = cerr
	}
	return counted.n, hex.EncodeToString(h.Sum(nil)), werr
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

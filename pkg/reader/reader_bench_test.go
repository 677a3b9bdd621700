package reader

import (
	"crypto/sha256"
	"fmt"
	"github.com/resultmaterialize/controller/pkg/apis/resultmaterialize"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/materialize"
	"github.com/resultmaterialize/controller/pkg/protocol"
)

func base64Result(name, path string) materialize.Result {
	res := text(name, path, 1<<20)
	res.Encoding = resultmaterialize.EncodingBase64
	return res
}

// writeFile writes size bytes of a repeating pattern (not sparse, so the
// bytes really are read).
func writeFile(b *testing.B, dir string, size int64) string {
	b.Helper()
	p := filepath.Join(dir, fmt.Sprintf("f%d", size))
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for written := int64(0); written < size; written += int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), size-written)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return filepath.Base(p)
}

// BenchmarkReadAllocs reports allocations per read at growing file sizes;
// flat figures mean the reader streams.
func BenchmarkReadAllocs(b *testing.B) {
	dir := b.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	for _, size := range []int64{1 << 20, 64 << 20, 1 << 30} {
		name := writeFile(b, dir, size)
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				plan := materialize.Plan{MaxInlineTotal: 128 << 10, Results: []materialize.Result{text("r", name, 4096)}}
				if err := Stream(root, plan, io.Discard, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThroughput reads the same 1 GiB file with the reader and with a
// plain crypto/sha256 pass, side by side, and reports both rates and their
// ratio (reader/sha256; 1.0 means the reader costs nothing over hashing).
func BenchmarkThroughput(b *testing.B) {
	dir := b.TempDir()
	const size = 1 << 30
	name := writeFile(b, dir, size)
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	var readerTime, plainTime time.Duration
	buf := make([]byte, bufferSize)
	for b.Loop() {
		start := time.Now()
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.CopyBuffer(h, f, buf); err != nil {
			b.Fatal(err)
		}
		h.Sum(nil)
		f.Close()
		plainTime += time.Since(start)

		start = time.Now()
		if rep := Read(root, protocol.FileRequest{Path: name, Limit: 4096}, buf); rep.Size != size {
			b.Fatalf("read %d bytes, want %d", rep.Size, size)
		}
		readerTime += time.Since(start)
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(readerTime), "reader-MB/s")
	b.ReportMetric(mbps(plainTime), "sha256-MB/s")
	b.ReportMetric(plainTime.Seconds()/readerTime.Seconds(), "ratio")
}

// BenchmarkStreamResults prints the document for a growing number of
// 700 KiB results in base64, each within its 1Mi threshold but only one
// within the 1Mi budget, side by side with one: the reader holds the
// budget plus one head and reuses a withheld head's storage, so bytes
// allocated per run stay flat in the number of results. It reports the
// ratio to one result.
func BenchmarkStreamResults(b *testing.B) {
	dir := b.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	name := writeFile(b, dir, 700<<10)
	var base float64
	for _, n := range []int{1, 10, 40} {
		plan := materialize.Plan{MaxInlineTotal: 1 << 20}
		for i := range n {
			plan.Results = append(plan.Results, base64Result(fmt.Sprintf("r%02d", i), name))
		}
		b.Run(fmt.Sprintf("results=%d", n), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				if err := Stream(root, plan, io.Discard, nil); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			perRun := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
			if n == 1 {
				base = perRun
			}
			b.ReportMetric(perRun/(1<<20), "MiB-alloc/run")
			if base > 0 {
				b.ReportMetric(perRun/base, "x-of-1-result")
			}
		})
	}
}

package reader

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/materialize"
)

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
				ReadAll(root, []materialize.FileRequest{{Path: name, Limit: 4096}})
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
		if rep := Read(root, materialize.FileRequest{Path: name, Limit: 4096}, buf); rep.Size != size {
			b.Fatalf("read %d bytes, want %d", rep.Size, size)
		}
		readerTime += time.Since(start)
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(readerTime), "reader-MB/s")
	b.ReportMetric(mbps(plainTime), "sha256-MB/s")
	b.ReportMetric(plainTime.Seconds()/readerTime.Seconds(), "ratio")
}

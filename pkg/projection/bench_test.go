package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/resultmaterialize/controller/pkg/protocol"
)

// document generates a JSON document of about size bytes without holding
// it: a long items list, then the fields the benchmark projects, so every
// byte must be scanned.
type document struct {
	parts   [][]byte
	repeat  int64
	part    int
	pending []byte
}

const item = `{"name":"shard-00000","rows":123456,"score":0.987654,"tags":["train","eval"],"path":"s3://bucket/data/shard-00000.parquet"},`

func newDocument(size int64) *document {
	return &document{parts: [][]byte{
		[]byte(`{"items":[`),
		[]byte(item),
		[]byte(`{"name":"last"}],"a":{"b":0.93}}`),
	}, repeat: size / int64(len(item))}
}

func (d *document) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.pending) == 0 {
			switch {
			case d.part == 0:
				d.pending, d.part = d.parts[0], 1
			case d.part == 1 && d.repeat > 0:
				d.pending = d.parts[1]
				d.repeat--
			case d.part == 1:
				d.pending, d.part = d.parts[2], 2
			default:
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
		}
		c := copy(p[n:], d.pending)
		d.pending = d.pending[c:]
		n += c
	}
	return n, nil
}

// count reads a document to learn its exact size.
func count(size int64) int64 {
	n, _ := io.Copy(io.Discard, newDocument(size))
	return n
}

// streamOnce projects {.a.b} and {.items[3].name} in one pass and
// returns the time and the allocations it took.
func streamOnce(b testing.TB, size int64) (time.Duration, uint64, uint64) {
	queries := make([]*Query, 2)
	for i, path := range []string{"{.a.b}", "{.items[3].name}"} {
		q, err := Compile(protocol.Projection{JSONPath: path})
		if err != nil || !q.Streams() {
			b.Fatalf("%s does not stream: %v", path, err)
		}
		queries[i] = q
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	out, err := Evaluate(context.Background(), newDocument(size), size, queries, 64<<20)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil || out[0].Value != "0.93" || out[1].Value != "shard-00000" {
		b.Fatalf("projection gave %+v, %v", out, err)
	}
	return elapsed, after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
}

// TestStreamingMemoryIsFlat: streaming a 64 MiB document allocates no
// more than twice what a 1 MiB one does.
func TestStreamingMemoryIsFlat(t *testing.T) {
	_, small, _ := streamOnce(t, count(1<<20))
	_, large, _ := streamOnce(t, count(64<<20))
	if large > 2*small {
		t.Errorf("allocations: %d for 64 MiB, %d for 1 MiB; want at most twice", large, small)
	}
}

// tokenScan is the baseline: a plain encoding/json token scan.
func tokenScan(b *testing.B, size int64) time.Duration {
	start := time.Now()
	dec := json.NewDecoder(newDocument(size))
	for {
		if _, err := dec.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
			return time.Since(start)
		}
	}
}

// BenchmarkSimplePathStreams projects two simple paths over a 1 MiB and a
// 1 GiB JSON document, and token-scans the 1 GiB one with encoding/json,
// side by side. It reports both rates, their ratio (stream/token; the
// target is at least 0.5), and allocations of the two sizes and their
// ratio (the target is at most 2: memory stays flat).
func BenchmarkSimplePathStreams(b *testing.B) {
	small, large := count(1<<20), count(1<<30)
	var streamTime, tokenTime time.Duration
	var smallAllocs, largeAllocs, smallBytes, largeBytes uint64
	for b.Loop() {
		_, allocs, bytes := streamOnce(b, small)
		smallAllocs, smallBytes = smallAllocs+allocs, smallBytes+bytes
		elapsed, allocs, bytes := streamOnce(b, large)
		streamTime, largeAllocs, largeBytes = streamTime+elapsed, largeAllocs+allocs, largeBytes+bytes
		tokenTime += tokenScan(b, large)
	}
	n := float64(b.N)
	mb := float64(large) / 1e6
	b.ReportMetric(mb*n/streamTime.Seconds(), "stream-MB/s")
	b.ReportMetric(mb*n/tokenTime.Seconds(), "token-MB/s")
	b.ReportMetric(tokenTime.Seconds()/streamTime.Seconds(), "stream/token")
	b.ReportMetric(float64(smallAllocs)/n, "allocs-1MiB")
	b.ReportMetric(float64(largeAllocs)/n, "allocs-1GiB")
	b.ReportMetric(float64(largeAllocs)/float64(smallAllocs), "allocs-1GiB/1MiB")
	b.ReportMetric(float64(smallBytes)/n, "B-1MiB")
	b.ReportMetric(float64(largeBytes)/n, "B-1GiB")
	fmt.Printf("documents: %d and %d bytes\n", small, large)
}

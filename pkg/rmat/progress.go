package rmat

import (
	"fmt"
	"io"
	"time"
)

// ProgressFrom is the size from which cat shows its progress.
const ProgressFrom = 16 << 20

// progress counts the bytes written through it and, at most every tick,
// rewrites one line on to: the bytes so far against the total.
type progress struct {
	w     io.Writer
	to    io.Writer
	name  string
	total int64
	done  int64
	tick  time.Duration
	last  time.Time
}

// Progress wraps w so that, while it is written, to shows how much of
// total went through; done ends the line.
func Progress(w, to io.Writer, name string, total int64) (io.Writer, func()) {
	p := &progress{w: w, to: to, name: name, total: total, tick: 200 * time.Millisecond}
	return p, func() {
		p.show()
		_, _ = fmt.Fprintln(p.to)
	}
}

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= p.tick {
		p.last = now
		p.show()
	}
	return n, err
}

func (p *progress) show() {
	pct := 100.0
	if p.total > 0 {
		pct = float64(p.done) / float64(p.total) * 100
	}
	_, _ = fmt.Fprintf(p.to, "\r%s: %s of %s (%.0f%%)", p.name, human(p.done), human(p.total), pct)
}

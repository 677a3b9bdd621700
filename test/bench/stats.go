package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// percentile is the nearest-rank percentile p (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func secs(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

// report is the table the benchmark prints and keeps.
type report struct {
	title string
	rows  [][]string
	notes []string
}

func (r *report) row(cells ...string) {
	r.rows = append(r.rows, cells)
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.title)
	b.WriteString("| work | N | p50 | p90 | total | compared | target |\n|---|---|---|---|---|---|---|\n")
	for _, row := range r.rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	if len(r.notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

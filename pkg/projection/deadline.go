package projection

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// clock is the caller's context for one file's projections: when it ends,
// every result not yet computed fails instead of holding its caller.
type clock struct {
	ctx context.Context
	// allowed is how long the caller's deadline gave the projections when
	// they began; zero when it set none.
	allowed time.Duration
}

func newClock(ctx context.Context) clock {
	c := clock{ctx: ctx}
	if d, ok := ctx.Deadline(); ok {
		c.allowed = max(0, time.Until(d)).Round(time.Millisecond)
	}
	return c
}

// expired is the failure of a result cut short by the end of the context,
// or nil while it lasts.
func (c clock) expired() *Error {
	switch err := c.ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fail(reasons.ProjectionCostExceeded,
			"ran out of time: the caller's deadline left %s for the projections of this file", c.allowed)
	default:
		return fail(reasons.ProjectionCostExceeded, "was stopped before it finished: its caller gave up waiting")
	}
}

// reader stops reading r once the context ends: the whole-document read,
// the parsers' reads of the copy, and the streaming scanner's refills.
func (c clock) reader(r io.Reader) io.Reader { return &clockReader{r: r, c: c} }

type clockReader struct {
	r io.Reader
	c clock
}

func (r *clockReader) Read(p []byte) (int, error) {
	if err := r.c.expired(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

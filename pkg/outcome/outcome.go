// Package outcome is the one failure model of the controller. Every layer
// (spec resolution, workspace sources, the engine) returns an error; when
// it is an *Outcome it says whether the run ends, the attempt ends, or the
// work goes on, and the reconciler settles it in one place. Any other
// error is a transient API failure that the work queue retries.
package outcome

import (
	"errors"
	"fmt"
	"time"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// Kind says what an Outcome does to the run.
type Kind int

const (
	// Terminal ends the run: a user's mistake that no retry can fix.
	Terminal Kind = iota + 1
	// Retryable ends the attempt; spec.retries decides whether another
	// starts or the run fails with this reason.
	Retryable
	// Waiting means the work is in progress: look again after
	// RecheckAfter, or sooner on an event.
	Waiting
)

// Outcome is a settled result of one step of a reconcile.
type Outcome struct {
	Kind Kind
	// Reason and Message say why the run or attempt ended; on a Waiting
	// outcome, what outside the run it waits on (empty: nothing, the
	// work just takes time).
	Reason  reasons.Reason
	Message string
	// RecheckAfter bounds the wait of a Waiting outcome; 0 means on the
	// next event only.
	RecheckAfter time.Duration
}

func (o *Outcome) Error() string {
	switch {
	case o.Kind == Waiting && o.Reason != "":
		return fmt.Sprintf("waiting (recheck after %s): %s: %s", o.RecheckAfter, o.Reason, o.Message)
	case o.Kind == Waiting:
		return fmt.Sprintf("waiting (recheck after %s)", o.RecheckAfter)
	}
	return string(o.Reason) + ": " + o.Message
}

// Fail ends the run with reason and a message naming the thing, the value
// and the limit.
func Fail(reason reasons.Reason, format string, args ...any) *Outcome {
	return &Outcome{Kind: Terminal, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Retry ends the attempt with reason; the run retries under spec.retries.
func Retry(reason reasons.Reason, format string, args ...any) *Outcome {
	return &Outcome{Kind: Retryable, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Wait asks to look again after d, or sooner on an event.
func Wait(d time.Duration) *Outcome {
	return &Outcome{Kind: Waiting, RecheckAfter: d}
}

// WaitOn asks to look again after d, or sooner on an event, while the
// run waits on something outside it (a quota, the scheduler, a node):
// reason and the message, in the words of whatever holds the run up, go
// on its Running condition.
func WaitOn(reason reasons.Reason, d time.Duration, format string, args ...any) *Outcome {
	return &Outcome{Kind: Waiting, Reason: reason, Message: fmt.Sprintf(format, args...), RecheckAfter: d}
}

// As returns the Outcome in err's chain, or nil.
func As(err error) *Outcome {
	var o *Outcome
	if errors.As(err, &o) {
		return o
	}
	return nil
}

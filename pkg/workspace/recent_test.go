package workspace

import (
	"context"
	"errors"
	"testing"
)

// An answer is kept, a failure is not.
func TestRecentKeepsAnswersNotFailures(t *testing.T) {
	var r recent[int]
	calls := 0
	fetch := func(err error) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { calls++; return calls, err }
	}
	ctx := context.Background()
	if _, err := r.get(ctx, "k", fetch(errors.New("refused"))); err == nil {
		t.Fatal("the failure was not returned")
	}
	if v, err := r.get(ctx, "k", fetch(nil)); err != nil || v != 2 {
		t.Fatalf("get after a failure = %d, %v; want a new answer, 2", v, err)
	}
	if v, _ := r.get(ctx, "k", fetch(nil)); v != 2 || calls != 2 {
		t.Errorf("get within %s = %d after %d calls; want the kept 2 and no call", RecentFor, v, calls)
	}
	if v, _ := r.get(ctx, "other", fetch(nil)); v != 3 {
		t.Errorf("another key = %d, want a new answer", v)
	}
}

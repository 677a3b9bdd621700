package workspace

import (
	"context"
	"sync"
	"time"
)

// RecentFor is how long recent keeps an answer: a PV's CSI source never
// changes, and a rotated credentials Secret is read again this soon.
const RecentFor = 10 * time.Second

// maxRecent bounds the answers kept; the cache starts over when full.
const maxRecent = 1024

// recent keeps successful answers of the API server for RecentFor.
type recent[T any] struct {
	mu   sync.Mutex
	kept map[string]recentEntry[T]
}

type recentEntry[T any] struct {
	value T
	at    time.Time
}

// get returns the answer kept for key, or asks fetch and keeps its answer
// when it succeeds.
func (r *recent[T]) get(ctx context.Context, key string, fetch func(context.Context) (T, error)) (T, error) {
	r.mu.Lock()
	e, ok := r.kept[key]
	r.mu.Unlock()
	if ok && time.Since(e.at) < RecentFor {
		return e.value, nil
	}
	value, err := fetch(ctx)
	if err != nil {
		return value, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kept == nil || len(r.kept) >= maxRecent {
		r.kept = map[string]recentEntry[T]{}
	}
	r.kept[key] = recentEntry[T]{value: value, at: time.Now()}
	return value, nil
}

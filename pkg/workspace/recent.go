package workspace

import (
	"context"
	"sync"
	"time"
)

// capped is a map safe for concurrent use that starts over when it holds
// as many entries as its caller allows: what it keeps may be asked for
// again, never relied on.
type capped[K comparable, V any] struct {
	mu   sync.Mutex
	kept map[K]V
}

func (c *capped[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.kept[k]
	return v, ok
}

// set keeps v for k, starting over first when limit entries are kept.
func (c *capped[K, V]) set(k K, v V, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept == nil || len(c.kept) >= limit {
		c.kept = map[K]V{}
	}
	c.kept[k] = v
}

// RecentFor is how long recent keeps an answer: a PV's CSI source never
// changes, and a rotated credentials Secret is read again this soon.
const RecentFor = 10 * time.Second

// maxRecent bounds the answers kept.
const maxRecent = 1024

// recent keeps successful answers of the API server for RecentFor.
type recent[T any] struct {
	kept capped[string, recentEntry[T]]
}

type recentEntry[T any] struct {
	value T
	at    time.Time
}

// get returns the answer kept for key, or asks fetch and keeps its answer
// when it succeeds.
func (r *recent[T]) get(ctx context.Context, key string, fetch func(context.Context) (T, error)) (T, error) {
	if e, ok := r.kept.get(key); ok && time.Since(e.at) < RecentFor {
		return e.value, nil
	}
	value, err := fetch(ctx)
	if err != nil {
		return value, err
	}
	r.kept.set(key, recentEntry[T]{value: value, at: time.Now()}, maxRecent)
	return value, nil
}

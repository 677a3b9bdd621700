package workspace

import (
	"golang.org/x/sync/semaphore"
)

// DefaultMemory is the budget of a controller run without a memory limit:
// 40% of the shipped 512Mi.
const DefaultMemory int64 = 512 << 20 / 10 * 4

// Memory is the controller-wide budget of bytes that its own reads and
// projections (of ConfigMap workspaces) may hold at once, whatever the
// number of runs and workers: work that would take more waits its turn,
// and work that needs more than the whole budget fails.
type Memory struct {
	sem  *semaphore.Weighted
	size int64
}

// NewMemory is a budget of size bytes.
func NewMemory(size int64) *Memory {
	return &Memory{sem: semaphore.NewWeighted(size), size: size}
}

// Size is the whole budget, in bytes.
func (m *Memory) Size() int64 { return m.size }

// Hold reserves n bytes and returns their release, or false when other
// work holds too much of the budget now.
func (m *Memory) Hold(n int64) (release func(), ok bool) {
	if n > m.size || !m.sem.TryAcquire(n) {
		return nil, false
	}
	return func() { m.sem.Release(n) }, true
}

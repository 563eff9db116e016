package idempotency

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// Memory is a Store in the process's memory, for the embedded mode and
// tests: it lives and dies with the process.
type Memory struct {
	limits Limits
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]memEntry
	sweepAt int
}

type memEntry struct {
	fp      []byte
	answer  *Answer
	expires time.Time // the lease's end for a claim, the answer's for an answer
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store; now is the clock (nil: time.Now).
func NewMemory(l Limits, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{limits: l, now: now, entries: map[string]memEntry{}, sweepAt: 1024}
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, key string, fp []byte) (Record, bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && now.Before(e.expires) {
		return Record{Fingerprint: e.fp, Answer: e.answer}, false, nil
	}
	if len(m.entries) >= m.sweepAt {
		m.sweep(now)
	}
	m.entries[key] = memEntry{fp: bytes.Clone(fp), expires: now.Add(m.limits.Lease)}
	return Record{}, true, nil
}

// Complete implements Store.
func (m *Memory) Complete(_ context.Context, key string, fp []byte, a Answer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && !bytes.Equal(e.fp, fp) {
		return nil // the key moved on to another request after this claim lapsed
	}
	m.entries[key] = memEntry{fp: bytes.Clone(fp), answer: &a, expires: m.now().Add(m.limits.TTL)}
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key string, fp []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && e.answer == nil && bytes.Equal(e.fp, fp) {
		delete(m.entries, key)
	}
	return nil
}

func (m *Memory) sweep(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
	// Grow the threshold with the live set so sweeping stays amortised O(1).
	m.sweepAt = max(1024, 2*len(m.entries))
}

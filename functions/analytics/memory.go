package analytics

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory is an in-process Store for the embedded mode and tests. It keeps the
// facts by item id and computes every answer from them, so it is the plain
// statement of what Dynamo's buckets must add up to. Apply is atomic here;
// Dynamo's crash windows (see the package doc) have no counterpart.
type Memory struct {
	mu    sync.RWMutex
	facts map[string]Fact
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{facts: map[string]Fact{}}
}

// Apply counts fact once per item id.
func (m *Memory) Apply(_ context.Context, fact Fact) error {
	if err := fact.Validate(); err != nil {
		return err
	}
	fact = fact.normalize()
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.facts[fact.ItemID]; ok {
		if !sameAddress(old, fact) {
			return conflictError(old.Category, old.EndsAt, fact)
		}
		return nil
	}
	m.facts[fact.ItemID] = fact
	return nil
}

// sameAddress reports whether a and b would be counted in the same buckets.
func sameAddress(a, b Fact) bool {
	return a.Category == b.Category && a.EndsAt.Equal(b.EndsAt)
}

func conflictError(category string, endsAt time.Time, f Fact) error {
	return fmt.Errorf("item %s: applied with category %q ending %s, now %q ending %s: %w",
		f.ItemID, category, endsAt.Format(time.RFC3339Nano), f.Category, f.EndsAt.Format(time.RFC3339Nano), ErrConflict)
}

// Summary aggregates the facts ending on the UTC days in [from, to).
func (m *Memory) Summary(_ context.Context, category string, from, to time.Time) (Summary, error) {
	if err := checkSummaryPeriod(from, to); err != nil {
		return Summary{}, fmt.Errorf("summary: %w", err)
	}
	t := newTally()
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, f := range m.facts {
		if (category == "" || f.Category == category) && within(startOfDay(f.EndsAt), from, to) {
			t.add(f)
		}
	}
	return t.summary(category, from, to), nil
}

// Bidders returns the distinct bidders of the auctions in category ending in
// [from, to).
func (m *Memory) Bidders(_ context.Context, category string, from, to time.Time) ([]string, error) {
	if category == "" {
		return nil, fmt.Errorf("bidders: %w", ErrCategoryRequired)
	}
	if err := checkPeriod(from, to); err != nil {
		return nil, fmt.Errorf("bidders: %w", err)
	}
	out := []string{}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, f := range m.facts {
		if f.Category == category && within(f.EndsAt, from, to) {
			out = append(out, f.Bidders...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// within reports whether t is in [from, to), a zero bound being open.
func within(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}

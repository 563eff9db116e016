package bidhistory

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// Memory is a Store in memory, for the embedded platform and tests.
type Memory struct {
	mu    sync.Mutex
	items map[string]map[string]Entry // item → Key → entry
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{items: map[string]map[string]Entry{}} }

// Record implements Store.
func (m *Memory) Record(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range entries {
		bids := m.items[e.ItemID]
		if bids == nil {
			bids = map[string]Entry{}
			m.items[e.ItemID] = bids
		}
		if _, ok := bids[e.Key()]; !ok {
			bids[e.Key()] = e
		}
	}
	return nil
}

// Page implements Store.
func (m *Memory) Page(_ context.Context, itemID, cursor string, limit int) ([]Entry, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Entry
	for k, e := range m.items[itemID] {
		if cursor == "" || k < cursor {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(b.Key(), a.Key()) })
	if len(out) <= limit {
		return out, "", nil
	}
	return out[:limit], out[limit-1].Key(), nil
}

package itemdir

import (
	"context"
	"sync"

	"github.com/auctionflow/auction/functions/placebid"
)

// Memory is a Store in memory, for tests.
type Memory struct {
	mu    sync.Mutex
	items map[string]entry
}

// entry is an item as far as its changes go: placed is false until its
// placement is recorded.
type entry struct {
	item   placebid.Item
	placed bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{items: map[string]entry{}} }

// Record implements Store.
func (m *Memory) Record(_ context.Context, changes []Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range changes {
		e := m.items[c.ItemID]
		if c.Placed != nil {
			closed := e.item.Closed
			e.item, e.placed = *c.Placed, true
			e.item.Closed = closed
		}
		if c.Closed {
			e.item.Closed = true
		}
		m.items[c.ItemID] = e
	}
	return nil
}

// Item implements Store.
func (m *Memory) Item(_ context.Context, itemID string) (placebid.Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.items[itemID]; e.placed {
		return e.item, true, nil
	}
	return placebid.Item{}, false, nil
}

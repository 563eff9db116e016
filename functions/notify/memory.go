package notify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory is an in-process Outbox for the embedded mode and tests.
type Memory struct {
	mu     sync.Mutex
	byID   map[string]Notification
	byUser map[string][]string // ids, in the order reserved
}

var _ Outbox = (*Memory)(nil)

// NewMemory returns an empty outbox.
func NewMemory() *Memory {
	return &Memory{byID: map[string]Notification{}, byUser: map[string][]string{}}
}

// Reserve records n unless its id is taken, and returns what is stored.
func (m *Memory) Reserve(_ context.Context, n Notification) (Notification, bool, error) {
	if err := checkReserve(n); err != nil {
		return Notification{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.byID[n.ID]; ok {
		return clone(old), false, nil
	}
	n = normalize(n)
	m.byID[n.ID] = n
	m.byUser[n.UserID] = append(m.byUser[n.UserID], n.ID)
	return clone(n), true, nil
}

// MarkSent records that notification id was sent at at; the first mark stands.
func (m *Memory) MarkSent(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.byID[id]
	if !ok {
		return fmt.Errorf("mark notification %s sent: %w", id, ErrNotFound)
	}
	if n.SentAt == nil {
		at = at.UTC()
		n.SentAt = &at
		m.byID[id] = n
	}
	return nil
}

// ForUser returns up to limit of the user's notifications, newest first.
func (m *Memory) ForUser(_ context.Context, userID string, limit int) ([]Notification, error) {
	if limit < 1 {
		return nil, fmt.Errorf("notifications of user %s: limit %d: %w", userID, limit, ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Notification
	for _, id := range m.byUser[userID] {
		out = append(out, clone(m.byID[id]))
	}
	slices.SortFunc(out, newestFirst)
	return out[:min(limit, len(out))], nil
}

// newestFirst orders by At, latest first, and ties by id, greatest first:
// the order of Dynamo's sort key read backwards.
func newestFirst(a, b Notification) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// clone copies n so that a caller cannot change the stored SentAt through
// the pointer it was given.
func clone(n Notification) Notification {
	if n.SentAt != nil {
		at := *n.SentAt
		n.SentAt = &at
	}
	return n
}

func checkReserve(n Notification) error {
	if n.ID == "" || n.UserID == "" {
		return fmt.Errorf("reserve notification %q for user %q: %w", n.ID, n.UserID, ErrInvalid)
	}
	return nil
}

// normalize gives a new notification the form every store keeps it in: times
// in UTC (without the monotonic reading), and no sent mark, which only
// MarkSent sets.
func normalize(n Notification) Notification {
	n.At = n.At.UTC()
	n.SentAt = nil
	return n
}

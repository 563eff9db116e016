package userdir

import (
	"context"
	"sync"
)

// Memory is an in-process Directory for the embedded mode and tests.
type Memory struct {
	mu      sync.RWMutex
	byID    map[string]User
	byEmail map[string]string
}

var _ Directory = (*Memory)(nil)

// NewMemory returns an empty directory.
func NewMemory() *Memory {
	return &Memory{byID: map[string]User{}, byEmail: map[string]string{}}
}

// Create stores u; its email must be new.
func (m *Memory) Create(_ context.Context, u User) error {
	email := NormalizeEmail(u.Email)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.byEmail[email]; taken {
		return ErrDuplicateEmail
	}
	u.Email = email
	m.byID[u.ID] = u
	m.byEmail[email] = u.ID
	return nil
}

// Get returns the user with id.
func (m *Memory) Get(_ context.Context, id string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.byID[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

// ByEmail returns the user registered with email.
func (m *Memory) ByEmail(_ context.Context, email string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.byEmail[NormalizeEmail(email)]
	if !ok {
		return User{}, ErrNotFound
	}
	return m.byID[id], nil
}

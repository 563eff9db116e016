package userdir

import (
	"context"
	"sync"
	"time"
)

// Cached reads users through a cache with a fixed time to live. It is what
// the edge functions enrich events from: the user directory is a table at
// rest, changing rarely, and reading it on every event would put its
// latency on every bid. The price is staleness: a renamed user may appear
// under the old name for up to TTL. TTL 0 reads the directory every time.
//
// Only Get is cached. Create and ByEmail (registration and sign-in) always go
// to the directory, so uniqueness and passwords are never judged from a copy.
type Cached struct {
	Directory
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	u       User
	expires time.Time
}

// NewCached wraps dir with a cache of ttl.
func NewCached(dir Directory, ttl time.Duration, now func() time.Time) *Cached {
	if now == nil {
		now = time.Now
	}
	return &Cached{Directory: dir, ttl: ttl, now: now, entries: map[string]cacheEntry{}}
}

// Get returns the user, from the cache while the copy is fresh.
func (c *Cached) Get(ctx context.Context, id string) (User, error) {
	if c.ttl <= 0 {
		return c.Directory.Get(ctx, id)
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.u, nil
	}
	u, err := c.Directory.Get(ctx, id)
	if err != nil {
		// Misses are not cached: a user who registers a moment later must
		// be able to act at once.
		return User{}, err
	}
	c.mu.Lock()
	if len(c.entries) > 100_000 {
		c.entries = map[string]cacheEntry{} // crude bound; the next reads refill it
	}
	c.entries[id] = cacheEntry{u: u, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return u, nil
}

package userdir_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/userdir"
)

// countingDir counts directory reads.
type countingDir struct {
	*userdir.Memory
	gets int
}

func (c *countingDir) Get(ctx context.Context, id string) (userdir.User, error) {
	c.gets++
	return c.Memory.Get(ctx, id)
}

func TestCachedStalenessPolicy(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name      string
		ttl       time.Duration
		advance   time.Duration
		wantGets  int
		wantFresh bool // the second read sees the directory's current name
	}{
		{"ttl 0 reads every time", 0, 0, 2, true},
		{"within ttl served from cache", time.Minute, 30 * time.Second, 1, false},
		{"after ttl read again", time.Minute, time.Minute, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			mem := userdir.NewMemory()
			if err := mem.Create(ctx, userdir.User{ID: "u1", Name: "Old", Email: "a@example.com"}); err != nil {
				t.Fatal(err)
			}
			dir := &countingDir{Memory: mem}
			c := userdir.NewCached(dir, tt.ttl, clock)
			if u, err := c.Get(ctx, "u1"); err != nil || u.Name != "Old" {
				t.Fatalf("first get: got %+v, %v, want Old", u, err)
			}
			// The directory changes behind the cache's back.
			renamed := userdir.NewMemory()
			if err := renamed.Create(ctx, userdir.User{ID: "u1", Name: "New", Email: "a@example.com"}); err != nil {
				t.Fatal(err)
			}
			dir.Memory = renamed
			now = now.Add(tt.advance)
			u, err := c.Get(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Name == "New"; got != tt.wantFresh {
				t.Fatalf("second get: got name %q, want fresh=%v", u.Name, tt.wantFresh)
			}
			if dir.gets != tt.wantGets {
				t.Fatalf("directory reads: got %d, want %d", dir.gets, tt.wantGets)
			}
		})
	}
}

func TestCachedDoesNotCacheMisses(t *testing.T) {
	ctx := context.Background()
	mem := userdir.NewMemory()
	c := userdir.NewCached(mem, time.Hour, nil)
	if _, err := c.Get(ctx, "u2"); !errors.Is(err, userdir.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if err := mem.Create(ctx, userdir.User{ID: "u2", Name: "Late", Email: "late@example.com"}); err != nil {
		t.Fatal(err)
	}
	if u, err := c.Get(ctx, "u2"); err != nil || u.Name != "Late" {
		t.Fatalf("got %+v, %v, want the user registered after the miss", u, err)
	}
}

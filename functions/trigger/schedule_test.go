package trigger_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/auctionflow/auction/functions/trigger"
)

// TestSchedule: the function runs at every tick, one call at a time, goes
// on after an error or a panic (which are logged), and stops with ctx.
func TestSchedule(t *testing.T) {
	const ticks = 5
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var calls, running, overlaps atomic.Int64
	reached := make(chan struct{})
	fn := func(_ context.Context, now time.Time) error {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		switch n := calls.Add(1); n {
		case 1:
			return errors.New("first tick fails")
		case 2:
			panic("second tick panics")
		case ticks:
			close(reached)
		}
		return nil
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- trigger.Schedule(ctx, 5*time.Millisecond, fn, log) }()

	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("got %d calls within 10 s, want %d", calls.Load(), ticks)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Schedule: got %v, want nil after ctx ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Schedule still running 10 s after ctx ended, want it to return")
	}
	t.Logf("%d calls in %s", calls.Load(), time.Since(start).Round(time.Millisecond))
	after := calls.Load()
	if after < ticks {
		t.Errorf("calls: got %d, want at least %d", after, ticks)
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("overlapping calls: got %d, want 0", n)
	}
	for _, want := range []string{"first tick fails", "second tick panics"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs: got %q, want them to contain %q", logs.String(), want)
		}
	}
}

func TestScheduleBadPeriod(t *testing.T) {
	for _, every := range []time.Duration{0, -time.Second} {
		err := trigger.Schedule(context.Background(), every, func(context.Context, time.Time) error { return nil }, nil)
		if err == nil {
			t.Errorf("Schedule(every %s): got nil, want an error", every)
		}
	}
}

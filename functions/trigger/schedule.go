package trigger

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Schedule is the schedule trigger: it calls fn every period until ctx ends,
// then returns nil. fn runs on Schedule's goroutine, so calls never overlap;
// a tick that comes while fn is still running is dropped, not queued, so a
// slow call is followed by one call, not a burst. The first call is one
// period after the start.
//
// An error from fn is logged and the next tick calls fn again: a schedule is
// retried by its own next tick. A panic in fn is logged the same way. Schedule
// returns an error only for a period that is not positive.
func Schedule(ctx context.Context, every time.Duration, fn func(ctx context.Context, now time.Time) error, log *slog.Logger) error {
	if every <= 0 {
		return fmt.Errorf("trigger: schedule period %s, want > 0", every)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			// select picks at random when both are ready: a tick that
			// comes with the end must not start another call.
			if ctx.Err() != nil {
				return nil
			}
			if err := call(ctx, fn, now); err != nil {
				log.Error("scheduled function failed", "every", every, "at", now, "err", err)
			}
		}
	}
}

func call(ctx context.Context, fn func(ctx context.Context, now time.Time) error, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scheduled function panicked: %v", r)
		}
	}()
	return fn(ctx, now)
}

package trigger

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// Middleware wraps a Handler in one concern of running it: Recover, Trace,
// Retry and DeadLetter are the platform's. Each is a Handler of its own
// that keeps the Handler contract (nil: every record done; a *RecordError:
// the records before Index done), so each is tested with a fake handler and
// no Kafka, and a worker is left with what only it can do: collecting
// batches, keeping a partition's order, committing, stopping.
type Middleware func(Handler) Handler

// chain wraps h in mws, the first outermost: chain(h, a, b) is a(b(h)),
// the order in which a stack reads in a list.
func chain(h Handler, mws ...Middleware) Handler {
	for _, mw := range slices.Backward(mws) {
		h = mw(h)
	}
	return h
}

// errStopped fails what a stopping worker leaves undone: the records from
// its Index on are the partition's next owner's.
var errStopped = errors.New("trigger stopping")

// Pacing is how Retry and DeadLetter space out their attempts.
type Pacing struct {
	// Backoff is the wait before the second attempt; it doubles with each
	// further one, up to MaxBackoff (below Backoff: no doubling).
	Backoff, MaxBackoff time.Duration
	// Stop, once closed, ends the waits and keeps another attempt from
	// starting, while the call that is running goes on under its context:
	// a worker that stops (a revoke, a shutdown) lets its call finish but
	// must not wait out a backoff of seconds. Nil: only the context ends
	// them.
	Stop <-chan struct{}
	// Wait waits d and reports whether to go on; Now is the time. Nil: the
	// real clock, a wait that Stop or the context cuts short. Tests set
	// them to a fake clock.
	Wait func(ctx context.Context, d time.Duration) bool
	Now  func() time.Time
}

// backoff is the wait after attempt number attempt (attempt >= 1).
func (p Pacing) backoff(attempt int) time.Duration {
	return kafkaio.Backoff(attempt, p.Backoff, max(p.MaxBackoff, p.Backoff))
}

// wait waits after attempt number attempt and reports whether to make
// another.
func (p Pacing) wait(ctx context.Context, attempt int) bool {
	d := p.backoff(attempt)
	if p.Wait != nil {
		return p.Wait(ctx, d) && !p.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.Stop:
		return false
	case <-ctx.Done():
		return false
	}
}

// stopped reports whether Stop is closed.
func (p Pacing) stopped() bool {
	select {
	case <-p.Stop:
		return true
	default:
		return false
	}
}

func (p Pacing) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// pinned returns the *RecordError of err if it names a record of a call of
// n records: the failure is then that record's, and the ones before it
// are done.
func pinned(err error, n int) (*RecordError, bool) {
	var re *RecordError
	if errors.As(err, &re) && re.Index >= 0 && re.Index < n {
		return re, true
	}
	return nil, false
}

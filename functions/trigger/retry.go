package trigger

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/auctionflow/auction/internal/telemetry"
)

// RetryPolicy says how Retry retries a failing record, and whom it tells.
type RetryPolicy struct {
	// MaxRetries is how often a record that fails on its own is retried
	// before Retry gives up on it (0: never).
	MaxRetries int
	// MaxRecordAge, if positive, gives up at once on a failing record older
	// than this, so that a partition far behind catches up rather than
	// waiting on stale work.
	MaxRecordAge time.Duration
	// Pacing spaces the retries out; its Stop ends them.
	Pacing
	// Log receives a warning per retry and a debug line per split
	// (default: discarded).
	Log *slog.Logger

	// The hooks run on the goroutine of the call, and are optional.
	//
	// OnDone hears of records done as the calls that did them return (n
	// records, the last of them last), in offset order and before any wait:
	// a worker commits past last at once, rather than when the whole batch
	// is through.
	OnDone func(last Record, n int)
	// OnSplit hears of each failed call that is bisected; OnRetry of each
	// retry of a record, after its wait, with the number of its failures.
	OnSplit func(call []Record)
	OnRetry func(rec Record, failures int)
}

// Retry calls next until every record of a batch is done, and gives up on
// a record that keeps failing. A failure is first pinned on one record:
//   - a *RecordError names it, and the records before it are done;
//   - any other error fails the whole call, which is bisected, half by
//     half, until the failing record is alone in a call, so that the records
//     before it succeed and only the culprit is retried.
//
// A pinned record is retried (after a RecordError, with the rest of the
// batch after it) with the policy's backoff. Once it has failed
// MaxRetries+1 times, or at once if its error is Permanent or it is older
// than MaxRecordAge, Retry returns a permanent *RecordError at its index,
// with the cause and the number of attempts, for DeadLetter to write. After
// a success, the rest of the batch runs as one call again: the halves were
// only a way to find the culprit.
//
// Each call gets its own copy of its records, so that a handler that keeps
// or reorders its slice cannot change what a retry sees. Once Pacing.Stop is
// closed, Retry starts no other call, and once it is or ctx has ended, a
// failure is not retried: Retry returns a *RecordError at the first record
// not done, which is left undone rather than given up on.
func Retry(p RetryPolicy) Middleware {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []Record) error {
			return p.run(ctx, next, batch)
		}
	}
}

func (p *RetryPolicy) run(ctx context.Context, next Handler, batch []Record) error {
	// failures[i] counts the failures pinned on batch[i].
	failures := make([]int, len(batch))
	// batch[:done] is done. ends is a stack of call boundaries: the next
	// call is batch[done:ends[top]], the one after it batch[ends[top]:
	// ends[top-1]], and so on; the bottom is always len(batch).
	done := 0
	ends := []int{len(batch)}
	for done < len(batch) {
		if p.stopped() {
			return &RecordError{Index: done, Err: errStopped}
		}
		end := ends[len(ends)-1]
		call := batch[done:end]
		err := next(ctx, slices.Clone(call))
		if err == nil {
			done = end
			ends = ends[:len(ends)-1]
			p.done(batch[done-1], len(call))
			continue
		}

		re, pinned := pinned(err, len(call))
		if pinned && re.Index > 0 {
			done += re.Index
			p.done(batch[done-1], re.Index)
		}
		if p.stopped() || ctx.Err() != nil {
			// The failure may be the stop itself (a call cut short); either
			// way the rest is left undone.
			return &RecordError{Index: done, Err: errors.Join(errStopped, err)}
		}

		cause, permanent := err, false
		switch {
		case pinned:
			ends = ends[:1]
			if re.Err != nil {
				cause = re.Err
			}
			permanent = re.Permanent
		case len(call) > 1:
			ends = append(ends, done+len(call)/2)
			if p.OnSplit != nil {
				p.OnSplit(call)
			}
			p.Log.Debug("call failed; bisecting", "from", call[0].Offset, "records", len(call), "err", err)
			continue
		}

		rec := batch[done]
		failures[done]++
		n := failures[done]
		if permanent || n > p.MaxRetries || p.tooOld(rec) {
			return &RecordError{Index: done, Err: cause, Permanent: true, Attempts: n}
		}
		wait := p.backoff(n)
		p.Log.WarnContext(telemetry.Extract(ctx, rec.Headers), "record failed; retrying", "offset", rec.Offset,
			"attempt", n, "backoff", wait, "err", cause)
		if !p.wait(ctx, n) {
			return &RecordError{Index: done, Err: errors.Join(errStopped, cause)}
		}
		if p.OnRetry != nil {
			p.OnRetry(rec, n)
		}
	}
	return nil
}

func (p *RetryPolicy) done(last Record, n int) {
	if p.OnDone != nil {
		p.OnDone(last, n)
	}
}

func (p *RetryPolicy) tooOld(rec Record) bool {
	return p.MaxRecordAge > 0 && !rec.Timestamp.IsZero() && p.now().Sub(rec.Timestamp) > p.MaxRecordAge
}

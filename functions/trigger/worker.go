package trigger

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// worker processes one partition: it alone calls the handler with that
// partition's records, one batch at a time, which is what keeps their
// order. The failure rules are the middleware's (see stack); the worker
// collects batches, commits what they report done, counts it, and stops.
// It knows nothing of the consumer: records come in on a channel and
// progress goes out through commit, so its rules are tested without Kafka.
type worker struct {
	cfg Config
	// handle is the handler with the platform's middleware around it (see
	// stack).
	handle Handler
	stats  *counters
	// log names the topic and partition already.
	log *slog.Logger
	// commit stores next, the offset after the last record done, as the
	// group's committed offset of the partition.
	commit func(next int64) error

	in chan Record
	// stop is closed to stop the worker after the call that is running:
	// it takes no new batch and ends its waits.
	stop chan struct{}
	// ctx is every call's context. It ends only when a stopping worker
	// outstays the shutdown timeout, so that a call normally completes.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// lost is set when the partition was taken away without a revoke (a
	// session timeout), or the worker abandoned (see await): the partition
	// belongs to another member, whose commits must not be overwritten, so
	// the worker commits nothing from then on.
	lost atomic.Bool

	// next is the offset after the last record done, committed the offset
	// last committed; both -1 until there is one. Only run touches them.
	next, committed int64
}

func newWorker(ctx context.Context, cfg Config, h Handler, dlq Writer, stats *counters,
	log *slog.Logger, commit func(int64) error) *worker {
	ctx, cancel := context.WithCancel(ctx)
	w := &worker{
		cfg: cfg, stats: stats, log: log, commit: commit,
		// One batch waits ready while one is processed; the consumer loop
		// keeps more (see partition.backlog).
		in:   make(chan Record, cfg.BatchSize),
		stop: make(chan struct{}),
		ctx:  ctx, cancel: cancel,
		done: make(chan struct{}),
		next: -1, committed: -1,
	}
	w.handle = w.stack(h, dlq)
	return w
}

// run processes batches until the worker is stopped.
func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	for {
		batch := w.collect()
		if batch == nil || !w.process(batch) {
			break
		}
	}
	// A commit that failed is covered by the next one; this is the last.
	if w.next != w.committed {
		w.commitNext()
	}
}

// signal tells the worker to stop after the call that is running, if any.
func (w *worker) signal() { close(w.stop) }

// await waits for a signalled worker to stop. A call that outlasts timeout
// has its context cancelled and gets timeout again to return; a worker still
// running then (a handler that ignores its context, a commit stuck on an
// unreachable coordinator) is abandoned, so that neither a rebalance nor a
// shutdown hangs on it. It may commit nothing from then on: its records are
// the next owner's, processed again at worst, never lost.
func (w *worker) await(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-w.done:
		return
	case <-t.C:
	}
	w.log.Warn("call still running at stop; cancelling its context", "timeout", timeout)
	w.cancel()
	t.Reset(timeout)
	select {
	case <-w.done:
	case <-t.C:
		w.lost.Store(true)
		w.log.Error("call ignored its cancelled context; abandoning it uncommitted", "timeout", timeout)
	}
}

func (w *worker) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// collect returns the next batch: up to BatchSize records, or fewer when
// BatchWindow passes after the first. It returns nil when told to stop; the
// records it had are then left uncommitted, for the partition's next owner.
func (w *worker) collect() []Record {
	var first Record
	select {
	case first = <-w.in:
	case <-w.stop:
		return nil
	}
	batch := make([]Record, 1, w.cfg.BatchSize)
	batch[0] = first
	window := time.NewTimer(w.cfg.BatchWindow)
	defer window.Stop()
	for len(batch) < w.cfg.BatchSize {
		select {
		case r := <-w.in:
			batch = append(batch, r)
		case <-window.C:
			return batch
		case <-w.stop:
			return nil
		}
	}
	return batch
}

// process runs batch through the worker's stack (see stack), which commits
// as it goes. It returns false when the worker was told to stop first; what
// is done by then is committed, the rest is not.
func (w *worker) process(batch []Record) bool {
	w.stats.batches.Add(1)
	err := w.handle(w.ctx, batch)
	if err != nil && !w.stopping() {
		// DeadLetter takes every failure Retry gives up on, so only a stop
		// leaves records undone. Should anything else, the worker stops at
		// them uncommitted rather than skip them.
		w.log.Error("batch left unfinished; stopping the partition's worker", "err", err)
	}
	return err == nil
}

// stack is the handler the worker calls with each batch, outermost first:
//
//   - DeadLetter writes what Retry gives up on to the dead-letter topic,
//     and goes on with the records after it;
//   - Retry bisects a failing call down to its culprit and retries that
//     record with backoff, until MaxRetries or MaxRecordAge;
//   - count counts each call in Stats;
//   - Trace runs each call in its consumer span;
//   - Recover turns a panic into the call's error;
//   - Config.Middleware, then h.
//
// The order is what makes the failure rules: Recover inside Retry makes a
// panic a failure that is retried and then dead-lettered; Trace inside
// Retry gives each attempt its own span; DeadLetter outside Retry sees only
// what Retry gave up on. Retry and DeadLetter report each record done as
// it is done, and the worker commits past it at once (see processed and
// deadLettered); w.stop ends their waits, so a stopping worker does not
// wait out a backoff.
func (w *worker) stack(h Handler, dlq Writer) Handler {
	pacing := Pacing{Backoff: w.cfg.RetryBackoff, MaxBackoff: w.cfg.MaxBackoff, Stop: w.stop}
	platform := []Middleware{
		DeadLetter(DeadLetterPolicy{
			Writer: dlq, Topic: w.cfg.DeadLetterTopic, Consumer: w.cfg.Name, Pacing: pacing, Log: w.log,
			OnDeadLetter: w.deadLettered,
		}),
		Retry(RetryPolicy{
			MaxRetries: w.cfg.MaxRetries, MaxRecordAge: w.cfg.MaxRecordAge, Pacing: pacing, Log: w.log,
			OnDone:  w.processed,
			OnSplit: func([]Record) { w.stats.splits.Add(1) },
			OnRetry: func(Record, int) { w.stats.retries.Add(1) },
		}),
		w.stats.count,
		Trace(w.cfg.Name, w.cfg.Group),
		Recover(w.log),
	}
	return chain(h, slices.Concat(platform, w.cfg.Middleware)...)
}

// processed records that the handler completed n records, the last being
// last, and commits past it.
func (w *worker) processed(last Record, n int) {
	w.stats.processed.Add(int64(n))
	w.next = last.Offset + 1
	w.commitNext()
}

// deadLettered records that rec's dead letter was acknowledged, and
// commits past it.
func (w *worker) deadLettered(rec Record) {
	w.stats.deadLettered.Add(1)
	w.next = rec.Offset + 1
	w.commitNext()
}

// commitNext commits w.next. A failure is logged and left to the next
// commit: the records stay processed, and at worst are processed again
// after a restart (the trigger is at-least-once, as the design says).
func (w *worker) commitNext() {
	if w.lost.Load() || w.next < 0 {
		return
	}
	if err := w.commit(w.next); err != nil {
		w.stats.commitErrors.Add(1)
		w.log.Warn("commit offset", "offset", w.next, "err", err)
		return
	}
	w.committed = w.next
}

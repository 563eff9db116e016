package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// worker processes one partition: it alone calls the handler with that
// partition's records, one call at a time, which is what keeps their order.
// It knows nothing of the consumer: records come in on a channel and
// progress goes out through commit, so its rules are tested without Kafka.
type worker struct {
	cfg   Config
	h     Handler
	dlq   Writer
	stats *counters
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
	return &worker{
		cfg: cfg, h: h, dlq: dlq, stats: stats, log: log, commit: commit,
		// One batch waits ready while one is processed; the consumer loop
		// keeps more (see partition.backlog).
		in:   make(chan Record, cfg.BatchSize),
		stop: make(chan struct{}),
		ctx:  ctx, cancel: cancel,
		done: make(chan struct{}),
		next: -1, committed: -1,
	}
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

// process calls the handler until every record of batch is processed or
// dead-lettered, committing as it goes. It returns false when it was told to
// stop first; what is done by then is committed, the rest is not.
//
// A failure is pinned on one record before anything else happens to it:
//   - a *RecordError names it, and the records before it are done;
//   - any other error fails the whole call, which is bisected, half by half,
//     until the failing record is alone in a call.
//
// A pinned record is retried on its own (after a RecordError, with the rest
// of the batch after it) with exponential backoff, and dead-lettered once it
// has failed MaxRetries+1 times, or at once when the error is permanent or
// the record older than MaxRecordAge. Then the rest of the batch runs as one
// call again: the halves were only a way to find the culprit.
func (w *worker) process(batch []Record) bool {
	w.stats.batches.Add(1)
	// attempts[i] counts the failures pinned on batch[i].
	attempts := make([]int, len(batch))
	// batch[:next] is done. ends is a stack of call boundaries: the next
	// call is batch[next:ends[top]], the one after it batch[ends[top]:
	// ends[top-1]], and so on; the bottom is always len(batch).
	next := 0
	ends := []int{len(batch)}
	for next < len(batch) {
		if w.stopping() {
			return false
		}
		end := ends[len(ends)-1]
		call := batch[next:end]
		err := w.invoke(call)
		if err == nil {
			next = end
			ends = ends[:len(ends)-1]
			w.processed(batch[next-1], len(call))
			continue
		}

		var re *RecordError
		pinned := errors.As(err, &re) && re.Index >= 0 && re.Index < len(call)
		if pinned && re.Index > 0 {
			next += re.Index
			w.processed(batch[next-1], re.Index)
		}
		if w.stopping() {
			// The failure may be the stop itself (a call cut short); either
			// way the rest is left to the partition's next owner.
			return false
		}

		var cause error
		permanent := false
		switch {
		case pinned:
			ends = ends[:1]
			cause, permanent = re.Err, re.Permanent
			if cause == nil {
				cause = err
			}
		case len(call) > 1:
			ends = append(ends, next+len(call)/2)
			w.stats.splits.Add(1)
			w.log.Debug("call failed; bisecting", "from", call[0].Offset, "records", len(call), "err", err)
			continue
		default:
			cause = err
		}

		rec := batch[next]
		attempts[next]++
		n := attempts[next]
		if permanent || n > w.cfg.MaxRetries || w.tooOld(rec) {
			if !w.deadLetter(rec, cause, n) {
				return false
			}
			next++
			ends = ends[:1]
			continue
		}
		wait := w.cfg.backoff(n)
		w.log.WarnContext(telemetry.Extract(w.ctx, rec.Headers), "record failed; retrying", "offset", rec.Offset, "attempt", n, "backoff", wait, "err", cause)
		if !w.wait(wait) {
			return false
		}
		w.stats.retries.Add(1)
	}
	return true
}

// invoke calls the handler once. A panic is a failure of the call like any
// other: retried, then dead-lettered, instead of taking every partition down.
func (w *worker) invoke(call []Record) (err error) {
	defer w.stats.called(len(call))()
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("handler panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	ctx, span := w.span(call)
	defer func() { telemetry.End(span, err) }()
	// A copy, so a handler that keeps or reorders its slice cannot change
	// what a retry sees.
	return w.h(ctx, slices.Clone(call))
}

// span starts the consumer span of a call. A call of one record continues
// that record's trace; a batch has many parents, so its span starts a trace
// of its own with a link to each record's producer span.
func (w *worker) span(call []Record) (context.Context, trace.Span) {
	first := call[0]
	o := telemetry.Origin{Topic: first.Topic, Partition: first.Partition, Offset: first.Offset, Group: w.cfg.Group}
	name := "process " + first.Topic + " " + w.cfg.Name
	if len(call) == 1 {
		return telemetry.StartProcess(w.ctx, name, o, first.Headers)
	}
	return telemetry.StartBatch(w.ctx, name, o, len(call), func(i int) []cekafka.Header { return call[i].Headers })
}

func (w *worker) tooOld(rec Record) bool {
	return w.cfg.MaxRecordAge > 0 && !rec.Timestamp.IsZero() && time.Since(rec.Timestamp) > w.cfg.MaxRecordAge
}

// processed records that the handler completed n records, the last being
// last, and commits past it.
func (w *worker) processed(last Record, n int) {
	w.stats.processed.Add(int64(n))
	w.next = last.Offset + 1
	w.commitNext()
}

// deadLetter writes rec to the dead-letter topic and commits past it. It
// retries the write until it is acknowledged and returns false only if told
// to stop first: then rec is not committed, and its next owner meets it again.
func (w *worker) deadLetter(rec Record, cause error, attempts int) bool {
	dl := kafkaio.DeadLetter(rec.Message, schemas.DeadLetter{
		Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Error: cause.Error(),
		Attempts: attempts, Consumer: w.cfg.Name, At: time.Now(),
	})
	dl.Topic = w.cfg.DeadLetterTopic
	retry := func(n int) bool { return w.wait(w.cfg.backoff(n)) }
	if kafkaio.WriteDeadLetter(w.ctx, w.dlq, dl, retry, w.log.With("offset", rec.Offset)) != nil {
		return false
	}
	// Logged in the trace of the record's producer, so the failure is
	// found from the request that wrote it.
	w.log.ErrorContext(telemetry.Extract(w.ctx, rec.Headers), "record dead-lettered", "offset", rec.Offset, "attempts", attempts,
		"deadLetterTopic", w.cfg.DeadLetterTopic, "err", cause)
	w.stats.deadLettered.Add(1)
	w.next = rec.Offset + 1
	w.commitNext()
	return true
}

// wait waits d, or less if told to stop; it reports whether it waited d.
func (w *worker) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.stop:
		return false
	case <-w.ctx.Done():
		return false
	}
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

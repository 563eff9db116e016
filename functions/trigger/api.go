// Package trigger binds functions to Kafka: the platform's "connector",
// modelled on AWS Lambda's Kafka event source mapping. A consumer group
// reads a topic; each partition's records are handed to the function in
// batches, one batch at a time per partition (order within a partition is
// kept), with partitions running in parallel. Offsets are committed only
// after the function succeeded; a failing record is retried with backoff,
// isolated by bisecting its batch, and finally dead-lettered with its origin
// so the partition moves on.
//
// In: the topics of Config (for the out-of-band functions,
// auction.item-complete). Out: auction.dead-letter (Config.DeadLetterTopic),
// for records the function could not process, with dlq-* origin headers.
// Whatever the function itself writes is its own business.
//
// # Ordering and batching
//
// The group member is a kafkaio.Group, which owns the consumer's
// life-cycle (joining, polling, rebalances, replacing a fenced or orphaned
// consumer); the trigger is its handler. Run's goroutine polls the consumer
// and routes each record to a worker of
// its partition; the worker alone calls the Handler for that partition, and
// waits for each call to return before the next (the article's point 6:
// concurrent calls over one partition would break its order). Partitions run
// in parallel, so a group's parallelism is its partition count. A worker
// that falls behind has its partition paused, so the poller never waits for
// it and the other partitions keep flowing.
//
// A batch is BatchSize records or what arrived within BatchWindow of its
// first record, whichever comes first: a full batch goes at once, a lone
// record waits at most the window (the article's point 7: a call costs the
// same for one record as for a thousand).
//
// # Failures
//
// A Handler returning nil completes its batch. One returning a *RecordError
// completes the records before Index, and the failure is pinned on
// batch[Index]. Any other error (or a panic) fails the whole call, which is
// split in halves, recursively, until the failing record is in a call of its
// own. A pinned record is retried with exponential backoff, then written to
// the dead-letter topic after MaxRetries retries, or at once when its error
// is Permanent or the record is older than MaxRecordAge. The rest of the
// batch then goes on as one call again. A dead letter that cannot be written
// is retried until it can: the partition waits rather than lose the record.
//
// # Middleware
//
// Each of those rules is a Middleware, a func(Handler) Handler tested on
// its own with a fake handler, and each partition's worker calls the
// Handler through a stack of them, outermost first:
//
//	DeadLetter(Retry(count(Trace(Recover(Config.Middleware...(h))))))
//
// Recover turns a panic into the call's error; Trace runs the call in its
// consumer span; count feeds Stats; Retry bisects, retries and gives up;
// DeadLetter writes what Retry gave up on and goes on with the rest. The
// order is the rules: a panic is a failure Retry retries, every
// attempt is a span, and only what Retry gives up on is dead-lettered. The
// middleware report each record done as it is done (RetryPolicy.OnDone,
// DeadLetterPolicy.OnDeadLetter), and the worker commits past it at once;
// the worker's stop ends their waits. What only a worker can do stays in
// it: collecting batches, one call at a time per partition, commits, Stats
// and stopping. A user's own middleware (Config.Middleware) run inside
// Recover, so every attempt passes them in its span.
//
// # Commits and rebalances
//
// Each worker commits, after every successful call and every dead letter,
// the offset after the last record done, and nothing else: librdkafka's
// auto-commit and offset store are off. A partition that is revoked
// (cooperative-sticky rebalancing moves only the partitions that change
// owner) or a trigger that stops lets its running call finish, up to
// ShutdownTimeout, commits what is done, and only then lets the partition
// go; a collected batch not yet called is dropped uncommitted. So the next
// owner starts right after the last record processed. After a crash the
// group's offset is older than that, and records are processed again: the
// trigger is at-least-once, and functions are idempotent (see DESIGN).
//
// # Adapters
//
// Events turns a function over typed CloudEvents into a Handler, so that
// functions stay plain Go. Schedule is the schedule trigger.
package trigger

import (
	"context"
	"fmt"
	"time"

	"github.com/auctionflow/auction/schemas/cekafka"
)

// Record is one Kafka record as a function's adapter sees it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	cekafka.Message
}

// Handler processes one batch of records from a single partition, in offset
// order. It returns nil when every record is done. To report that records
// from some index on failed (Lambda's ReportBatchItemFailures), it returns a
// *RecordError: records before Index are then taken as done. Any other
// error fails the whole batch, which the trigger bisects to find the culprit.
type Handler func(ctx context.Context, batch []Record) error

// RecordError reports the first record of a batch that failed.
type RecordError struct {
	Index int
	Err   error
	// Permanent errors (an undecodable record) skip the retries and go
	// straight to the dead-letter topic.
	Permanent bool
	// Attempts is how often the record was tried, when Retry gives up on
	// it; it is the dead letter's dlq-attempts (0 counts as 1).
	Attempts int
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d of the batch: %v", e.Index, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

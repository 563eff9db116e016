package trigger

import (
	"context"
	"log/slog"
	"slices"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
)

// DeadLetterPolicy says where DeadLetter writes, and whom it tells.
type DeadLetterPolicy struct {
	// Writer writes the dead letters (required); Topic is where (default
	// auction.dead-letter).
	Writer Writer
	Topic  string
	// Consumer names the function in the dlq-consumer header.
	Consumer string
	// Pacing spaces out the writes of a dead letter that fails to be
	// written; its Stop ends them.
	Pacing
	// Log receives an error per dead letter, in the trace of the record's
	// producer (default: discarded).
	Log *slog.Logger
	// OnDeadLetter, if set, hears of each record once its dead letter is
	// acknowledged, on the goroutine of the call: a worker commits past it
	// then, and only then.
	OnDeadLetter func(rec Record)
}

// DeadLetter writes each record that next refuses for good (a permanent
// *RecordError: one undecodable, or one Retry gave up on) to the
// dead-letter topic, with its origin in dlq-* headers (kafkaio.DeadLetter),
// and calls next again with the records after it, so that the partition
// moves on past a poison record instead of stopping at it. The batch then
// succeeds as a whole.
//
// A dead letter is written again and again until the cluster acknowledges
// it (kafkaio.WriteDeadLetter): the record must not be lost, so the
// partition waits at it. If Pacing.Stop closes or ctx ends first, DeadLetter
// returns a *RecordError at the record, which reports the records before it
// done and leaves it to the partition's next owner. Any other error of next
// is returned, at its index in the whole batch.
func DeadLetter(p DeadLetterPolicy) Middleware {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Topic == "" {
		p.Topic = schemas.TopicDeadLetter
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []Record) error {
			for done := 0; done < len(batch); {
				// A copy, so that next cannot reorder what is dead-lettered.
				err := next(ctx, slices.Clone(batch[done:]))
				if err == nil {
					return nil
				}
				re, ok := pinned(err, len(batch)-done)
				if !ok || !re.Permanent {
					return shift(err, done, len(batch)-done)
				}
				at := done + re.Index
				if err := p.write(ctx, batch[at], re); err != nil {
					return &RecordError{Index: at, Err: err}
				}
				done = at + 1
			}
			return nil
		}
	}
}

// write writes rec's dead letter, failed with re, until it is acknowledged.
func (p *DeadLetterPolicy) write(ctx context.Context, rec Record, re *RecordError) error {
	cause := re.Err
	if cause == nil {
		cause = re
	}
	attempts := max(re.Attempts, 1)
	dl := kafkaio.DeadLetter(rec.Message, schemas.DeadLetter{
		Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Error: cause.Error(),
		Attempts: attempts, Consumer: p.Consumer, At: p.now(),
	})
	dl.Topic = p.Topic
	retry := func(n int) bool { return p.wait(ctx, n) }
	if err := kafkaio.WriteDeadLetter(ctx, p.Writer, dl, retry, p.Log.With("offset", rec.Offset)); err != nil {
		return err
	}
	// Logged in the trace of the record's producer, so the failure is
	// found from the request that wrote it.
	p.Log.ErrorContext(telemetry.Extract(ctx, rec.Headers), "record dead-lettered", "offset", rec.Offset,
		"attempts", attempts, "deadLetterTopic", p.Topic, "err", cause)
	if p.OnDeadLetter != nil {
		p.OnDeadLetter(rec)
	}
	return nil
}

// shift moves err, an error of a call of the n records batch[done:], to
// its place in batch: a *RecordError counts from done, and a failure of the
// whole call leaves batch[:done] done.
func shift(err error, done, n int) error {
	if done == 0 {
		return err
	}
	if re, ok := pinned(err, n); ok {
		moved := *re
		moved.Index += done
		return &moved
	}
	return &RecordError{Index: done, Err: err}
}

package kafkaio

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// DeadLetter builds the dead-letter record for msg: the original key, value
// and headers untouched, plus headers naming its origin and the failure.
func DeadLetter(msg cekafka.Message, dl schemas.DeadLetter) Record {
	at := dl.At
	if at.IsZero() {
		at = time.Now()
	}
	hs := make([]cekafka.Header, 0, len(msg.Headers)+7)
	hs = append(hs, msg.Headers...)
	hs = append(hs,
		cekafka.Header{Key: schemas.HeaderDLQTopic, Value: []byte(dl.Topic)},
		cekafka.Header{Key: schemas.HeaderDLQPartition, Value: []byte(strconv.Itoa(int(dl.Partition)))},
		cekafka.Header{Key: schemas.HeaderDLQOffset, Value: []byte(strconv.FormatInt(dl.Offset, 10))},
		cekafka.Header{Key: schemas.HeaderDLQError, Value: []byte(dl.Error)},
		cekafka.Header{Key: schemas.HeaderDLQAttempts, Value: []byte(strconv.Itoa(dl.Attempts))},
		cekafka.Header{Key: schemas.HeaderDLQConsumer, Value: []byte(dl.Consumer)},
		cekafka.Header{Key: schemas.HeaderDLQTime, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
	)
	return Record{
		Topic:   schemas.TopicDeadLetter,
		Message: cekafka.Message{Key: msg.Key, Value: msg.Value, Headers: hs},
	}
}

// Writer writes records and returns once the cluster has acknowledged them;
// *Producer is one.
type Writer interface {
	Write(ctx context.Context, recs ...Record) error
}

var _ Writer = (*Producer)(nil)

// WriteDeadLetter writes rec (see DeadLetter) through w, again and again
// until the write is acknowledged: a consumer may move past a record it
// cannot process only once the record is safe on the dead-letter topic.
// Between attempts it calls wait with the attempt that failed (from 1),
// which waits (see Backoff and Pause) and reports whether to try again; it
// returns nil once written, or the last write's error once wait or ctx
// gives up. Each failure is logged on log, which should name the record.
func WriteDeadLetter(ctx context.Context, w Writer, rec Record, wait func(attempt int) bool, log *slog.Logger) error {
	for attempt := 1; ; attempt++ {
		err := w.Write(ctx, rec)
		if err == nil {
			return nil
		}
		log.Warn("dead-letter write failed; retrying", "attempt", attempt, "err", err)
		if ctx.Err() != nil || !wait(attempt) {
			return fmt.Errorf("dead letter not written after %d attempts: %w", attempt, err)
		}
	}
}

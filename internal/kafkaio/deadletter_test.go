package kafkaio_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// flakyWriter fails its first fails writes.
type flakyWriter struct {
	fails, calls int
}

func (w *flakyWriter) Write(_ context.Context, _ ...kafkaio.Record) error {
	w.calls++
	if w.calls <= w.fails {
		return errors.New("broker away")
	}
	return nil
}

// TestWriteDeadLetter: the write is retried, with one wait per failure,
// until it is acknowledged; it gives up only when wait says so.
func TestWriteDeadLetter(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	rec := kafkaio.Record{Topic: "dlq"}
	w := &flakyWriter{fails: 3}
	var waited []int
	wait := func(attempt int) bool { waited = append(waited, attempt); return true }
	if err := kafkaio.WriteDeadLetter(context.Background(), w, rec, wait, log); err != nil {
		t.Fatalf("got %v, want written", err)
	}
	if w.calls != 4 || len(waited) != 3 || waited[2] != 3 {
		t.Fatalf("got %d writes and waits %v, want 4 writes and waits [1 2 3]", w.calls, waited)
	}

	w = &flakyWriter{fails: 100}
	err := kafkaio.WriteDeadLetter(context.Background(), w, rec, func(attempt int) bool { return attempt < 2 }, log)
	if err == nil || w.calls != 2 {
		t.Fatalf("wait giving up after 2: got err %v after %d writes, want an error after 2", err, w.calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = &flakyWriter{fails: 100}
	if err := kafkaio.WriteDeadLetter(ctx, w, rec, func(int) bool { return true }, log); err == nil || w.calls != 1 {
		t.Fatalf("ended context: got err %v after %d writes, want an error after 1", err, w.calls)
	}
}

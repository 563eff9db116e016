package trigger

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// TestStackOrder: the worker's middleware wrap each other so that a panic
// is a failure like any other, retried and then dead-lettered, and the
// counters in Stats see every call, split, retry and record done.
func TestStackOrder(t *testing.T) {
	panicking := func(call []Record) error {
		if call[0].Offset == 0 {
			panic("nil map")
		}
		return nil
	}
	h := newHarness(t, Config{MaxRetries: 1, RetryBackoff: time.Millisecond}, panicking)
	if !h.w.process(records(2)) {
		t.Fatal("process: got false, want true")
	}
	calls, commits := h.recorded()
	if want := []string{"0-1", "0-0", "0-0", "1-1"}; !slices.Equal(calls, want) {
		t.Errorf("calls: got %v, want %v (bisected, retried once, then the rest)", calls, want)
	}
	if want := []int64{1, 2}; !slices.Equal(commits, want) {
		t.Errorf("commits: got %v, want %v", commits, want)
	}
	if got, want := h.dlq.letters(t), []letter{{Offset: 0, Attempts: 2}}; !slices.Equal(got, want) {
		t.Errorf("dead letters: got %v, want %v", got, want)
	}
	got := h.w.stats.snapshot()
	want := Stats{Batches: 1, Invocations: 4, Records: 5, Processed: 1, DeadLettered: 1, Splits: 1, Retries: 1}
	if got.Batches != want.Batches || got.Invocations != want.Invocations || got.Records != want.Records ||
		got.Processed != want.Processed || got.DeadLettered != want.DeadLettered || got.Splits != want.Splits ||
		got.Retries != want.Retries {
		t.Errorf("stats: got %+v, want %+v", got, want)
	}
}

// TestConfigMiddleware: a user's middleware run inside the platform's, in
// the order given: each call of a retry or a bisection passes them, in its
// span, and a panic in one is recovered like the handler's.
func TestConfigMiddleware(t *testing.T) {
	var seen []string
	note := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, call []Record) error {
				if !trace.SpanContextFromContext(ctx).IsValid() {
					t.Errorf("middleware %s: called outside the call's span", name)
				}
				seen = append(seen, name)
				return next(ctx, call)
			}
		}
	}
	panicked := false
	panicOnce := func(next Handler) Handler {
		return func(ctx context.Context, call []Record) error {
			if !panicked {
				panicked = true
				panic("middleware bug")
			}
			return next(ctx, call)
		}
	}
	spans := recordSpans(t)

	cfg := Config{MaxRetries: 2, RetryBackoff: time.Millisecond, Middleware: []Middleware{note("a"), note("b"), panicOnce}}
	errOnce := errors.New("once")
	failed := false
	h := newHarness(t, cfg, func([]Record) error {
		if !failed {
			failed = true
			return &RecordError{Index: 0, Err: errOnce}
		}
		return nil
	})
	if !h.w.process(records(1)) {
		t.Fatal("process: got false, want true")
	}
	// The first call panics in panicOnce, the second fails in the handler,
	// the third succeeds.
	if want := []string{"a", "b", "a", "b", "a", "b"}; !slices.Equal(seen, want) {
		t.Errorf("middleware calls: got %v, want %v", seen, want)
	}
	calls, commits := h.recorded()
	if want := []string{"0-0", "0-0"}; !slices.Equal(calls, want) {
		t.Errorf("handler calls: got %v, want %v", calls, want)
	}
	if want := []int64{1}; !slices.Equal(commits, want) {
		t.Errorf("commits: got %v, want %v", commits, want)
	}
	if got := len(spans.Ended()); got != 3 {
		t.Errorf("call spans: got %d, want 3", got)
	}
}

package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
)

// gaveUp is what a test checks of the *RecordError Retry returns.
type gaveUp struct {
	Index     int
	Permanent bool
	Attempts  int
}

func TestRetry(t *testing.T) {
	errBoom := errors.New("boom")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stale := batchOf(4, now)
	stale[0].Timestamp = now.Add(-2 * time.Hour)
	// firstAt fails the first call that holds offset bad with a
	// *RecordError at its index.
	firstAt := func(bad int64) func([]trigger.Record) error {
		failed := false
		return func(call []trigger.Record) error {
			for i, r := range call {
				if r.Offset == bad && !failed {
					failed = true
					return &trigger.RecordError{Index: i, Err: errBoom}
				}
			}
			return nil
		}
	}

	tests := []struct {
		name       string
		maxRetries int
		maxAge     time.Duration
		goOn       int // waits that go on; after them, Retry is stopped
		batch      []trigger.Record
		answer     func([]trigger.Record) error
		wantCalls  []string
		wantDone   []string // "last offset/records" of each report
		wantWaits  []time.Duration
		wantSplits []string // the calls bisected
		wantErr    *gaveUp
	}{
		{
			name: "all succeed in one call", maxRetries: 2, batch: batchOf(10, now),
			wantCalls: []string{"0-9"}, wantDone: []string{"9/10"},
		},
		{
			name:       "a plain error is bisected down to its record, which is retried and given up on",
			maxRetries: 2, goOn: 9, batch: batchOf(8, now), answer: holding(5, errBoom),
			wantCalls:  []string{"0-7", "0-3", "4-7", "4-5", "4-4", "5-5", "5-5", "5-5"},
			wantDone:   []string{"3/4", "4/1"},
			wantWaits:  []time.Duration{100 * time.Millisecond, 150 * time.Millisecond},
			wantSplits: []string{"0-7", "4-7", "4-5"},
			wantErr:    &gaveUp{Index: 5, Permanent: true, Attempts: 3},
		},
		{
			name:       "a record error completes the records before it and retries the rest from it",
			maxRetries: 2, goOn: 9, batch: batchOf(10, now), answer: firstAt(3),
			wantCalls: []string{"0-9", "3-9"}, wantDone: []string{"2/3", "9/7"},
			wantWaits: []time.Duration{100 * time.Millisecond},
		},
		{
			name: "a permanent record error is given up on at once", maxRetries: 2, batch: batchOf(10, now),
			answer:    holding(2, &trigger.RecordError{Index: 2, Err: errBoom, Permanent: true}),
			wantCalls: []string{"0-9"}, wantDone: []string{"1/2"},
			wantErr: &gaveUp{Index: 2, Permanent: true, Attempts: 1},
		},
		{
			name: "a failing record older than MaxRecordAge is given up on at once", maxRetries: 5, maxAge: time.Hour,
			batch: stale, answer: holding(0, errBoom),
			wantCalls: []string{"0-3", "0-1", "0-0"}, wantSplits: []string{"0-3", "0-1"},
			wantErr: &gaveUp{Index: 0, Permanent: true, Attempts: 1},
		},
		{
			name: "no retries: one attempt", maxRetries: 0, batch: batchOf(1, now), answer: holding(0, errBoom),
			wantCalls: []string{"0-0"},
			wantErr:   &gaveUp{Index: 0, Permanent: true, Attempts: 1},
		},
		{
			name:       "a stop during the wait leaves the record undone, not given up on",
			maxRetries: 3, goOn: 0, batch: batchOf(2, now), answer: holding(1, errBoom),
			wantCalls: []string{"0-1", "0-0", "1-1"}, wantDone: []string{"0/1"},
			wantWaits: []time.Duration{100 * time.Millisecond}, wantSplits: []string{"0-1"},
			wantErr: &gaveUp{Index: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{now: now, goOn: tt.goOn}
			h := &fake{answer: tt.answer}
			var done, splits []string
			retries := 0
			retry := trigger.Retry(trigger.RetryPolicy{
				MaxRetries: tt.maxRetries, MaxRecordAge: tt.maxAge,
				Pacing:  c.pacing(100*time.Millisecond, 150*time.Millisecond),
				OnDone:  func(last trigger.Record, n int) { done = append(done, fmt.Sprintf("%d/%d", last.Offset, n)) },
				OnSplit: func(call []trigger.Record) { splits = append(splits, offsets(call)) },
				OnRetry: func(trigger.Record, int) { retries++ },
			})
			err := retry(h.handle)(context.Background(), tt.batch)

			if got := h.called(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls: got %v, want %v", got, tt.wantCalls)
			}
			if !slices.Equal(done, tt.wantDone) {
				t.Errorf("done: got %v, want %v", done, tt.wantDone)
			}
			if !slices.Equal(c.waits, tt.wantWaits) {
				t.Errorf("waits: got %v, want %v", c.waits, tt.wantWaits)
			}
			if !slices.Equal(splits, tt.wantSplits) {
				t.Errorf("splits: got %v, want %v", splits, tt.wantSplits)
			}
			if want := min(len(tt.wantWaits), tt.goOn); retries != want {
				t.Errorf("retries: got %d, want %d (one per wait that went on)", retries, want)
			}
			checkGaveUp(t, err, tt.wantErr, errBoom)
		})
	}
}

// checkGaveUp checks err against want (nil: success); a record error
// carries cause.
func checkGaveUp(t *testing.T, err error, want *gaveUp, cause error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("error: got %v, want nil", err)
		}
		return
	}
	var re *trigger.RecordError
	if !errors.As(err, &re) {
		t.Fatalf("error: got %v, want a *RecordError", err)
	}
	if got := (gaveUp{re.Index, re.Permanent, re.Attempts}); got != *want {
		t.Errorf("record error: got %+v, want %+v", got, *want)
	}
	if !errors.Is(err, cause) {
		t.Errorf("error: got %v, want it to wrap %v", err, cause)
	}
}

// TestRetryCopies: a handler that reorders its records changes neither the
// caller's batch nor what its retry is given.
func TestRetryCopies(t *testing.T) {
	batch := batchOf(3, time.Now())
	var firsts []int64
	h := func(_ context.Context, call []trigger.Record) error {
		firsts = append(firsts, call[0].Offset)
		slices.Reverse(call)
		if len(firsts) == 1 {
			return &trigger.RecordError{Index: 0, Err: errors.New("again")}
		}
		return nil
	}
	c := &clock{goOn: 1}
	if err := trigger.Retry(trigger.RetryPolicy{MaxRetries: 1, Pacing: c.pacing(time.Millisecond, 0)})(h)(context.Background(), batch); err != nil {
		t.Fatalf("Retry: got %v, want nil", err)
	}
	if want := []int64{0, 0}; !slices.Equal(firsts, want) {
		t.Errorf("first offset of each call: got %v, want %v", firsts, want)
	}
	if got := offsets(batch); got != "0-2" {
		t.Errorf("caller's batch after the calls: got %s, want 0-2", got)
	}
}

// TestRetryStop: once Stop is closed, Retry starts no call, and a wait in
// progress (here an hour long, on the real clock) ends at once.
func TestRetryStop(t *testing.T) {
	t.Run("before the first call", func(t *testing.T) {
		stop := make(chan struct{})
		close(stop)
		h := &fake{}
		err := trigger.Retry(trigger.RetryPolicy{Pacing: trigger.Pacing{Stop: stop}})(h.handle)(context.Background(), batchOf(2, time.Now()))
		checkGaveUp(t, err, &gaveUp{Index: 0}, err)
		if got := h.called(); len(got) != 0 {
			t.Errorf("calls: got %v, want none", got)
		}
	})
	t.Run("while waiting to retry", func(t *testing.T) {
		stop, failed := make(chan struct{}), make(chan struct{}, 1)
		errBoom := errors.New("boom")
		h := func(context.Context, []trigger.Record) error {
			failed <- struct{}{}
			return errBoom
		}
		retry := trigger.Retry(trigger.RetryPolicy{MaxRetries: 3, Pacing: trigger.Pacing{Backoff: time.Hour, Stop: stop}})(h)
		result := make(chan error, 1)
		go func() { result <- retry(context.Background(), batchOf(1, time.Now())) }()
		select {
		case <-failed:
		case <-time.After(waitTimeout):
			t.Fatalf("waited %s for the first call", waitTimeout)
		}
		close(stop)
		select {
		case err := <-result:
			checkGaveUp(t, err, &gaveUp{Index: 0}, errBoom)
		case <-time.After(waitTimeout):
			t.Fatalf("Retry still waiting %s after its stop, want it to return", waitTimeout)
		}
	})
}

package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// These tests drive one partition's worker without Kafka: the batch rules
// (bisect, retry, dead-letter, commit only what is done) are all in it.

// bound is how long anything may take before a test calls it hung.
const bound = 10 * time.Second

// fakeDLQ records dead letters; while fail is set, every write fails.
type fakeDLQ struct {
	mu     sync.Mutex
	recs   []kafkaio.Record
	fail   bool
	failed int
	// called gets a value after each write attempt.
	called chan struct{}
}

func (f *fakeDLQ) Write(_ context.Context, recs ...kafkaio.Record) error {
	defer func() {
		if f.called != nil {
			select {
			case f.called <- struct{}{}:
			default:
			}
		}
	}()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		f.failed++
		return errors.New("dead-letter topic unavailable")
	}
	f.recs = append(f.recs, recs...)
	return nil
}

// letter is what a test checks of a dead letter.
type letter struct {
	Offset   int64
	Attempts int
}

func (f *fakeDLQ) letters(t *testing.T) []letter {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []letter
	for _, r := range f.recs {
		off, _ := r.Header(schemas.HeaderDLQOffset)
		att, _ := r.Header(schemas.HeaderDLQAttempts)
		o, err := strconv.ParseInt(string(off), 10, 64)
		if err != nil {
			t.Fatalf("dead letter offset header %q: %v", off, err)
		}
		a, err := strconv.Atoi(string(att))
		if err != nil {
			t.Fatalf("dead letter attempts header %q: %v", att, err)
		}
		out = append(out, letter{o, a})
	}
	return out
}

// harness is one worker with a recording handler.
type harness struct {
	w   *worker
	dlq *fakeDLQ

	mu      sync.Mutex
	calls   []string // "first-last" offsets of each call
	commits []int64
}

func newHarness(t *testing.T, cfg Config, h func(call []Record) error) *harness {
	t.Helper()
	cfg.Kafka.Brokers = []string{"unused:9092"}
	cfg.Group, cfg.Topics = "g", []string{"t"}
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: got %v, want nil", err)
	}
	hs := &harness{dlq: &fakeDLQ{}}
	handler := func(_ context.Context, call []Record) error {
		hs.mu.Lock()
		hs.calls = append(hs.calls, fmt.Sprintf("%d-%d", call[0].Offset, call[len(call)-1].Offset))
		hs.mu.Unlock()
		return h(call)
	}
	commit := func(next int64) error {
		hs.mu.Lock()
		defer hs.mu.Unlock()
		hs.commits = append(hs.commits, next)
		return nil
	}
	hs.w = newWorker(context.Background(), cfg, handler, hs.dlq, &counters{}, slog.New(slog.DiscardHandler), commit)
	return hs
}

func (h *harness) recorded() (calls []string, commits []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls), slices.Clone(h.commits)
}

func records(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Topic: "t", Offset: int64(i), Timestamp: time.Now()}
		recs[i].Value = []byte(strconv.Itoa(i))
	}
	return recs
}

// failing fails every call that holds offset bad with err.
func failing(bad int64, err error) func([]Record) error {
	return func(call []Record) error {
		for _, r := range call {
			if r.Offset == bad {
				return err
			}
		}
		return nil
	}
}

// once returns a handler that fails with errOf(call) the first time offset
// bad is in a call, and succeeds afterwards.
func once(bad int64, errOf func(call []Record, index int) error) func([]Record) error {
	failed := false
	return func(call []Record) error {
		for i, r := range call {
			if r.Offset == bad && !failed {
				failed = true
				return errOf(call, i)
			}
		}
		return nil
	}
}

func TestProcess(t *testing.T) {
	errBoom := errors.New("boom")
	quick := Config{MaxRetries: 2, RetryBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	old := records(4)
	old[0].Timestamp = time.Now().Add(-2 * time.Hour)

	tests := []struct {
		name        string
		cfg         Config
		batch       []Record
		handler     func([]Record) error
		wantCalls   []string
		wantCommits []int64
		wantLetters []letter
	}{
		{
			name: "all succeed", cfg: quick, batch: records(10),
			handler:   func([]Record) error { return nil },
			wantCalls: []string{"0-9"}, wantCommits: []int64{10},
		},
		{
			name: "a poison record is bisected out, retried alone, dead-lettered", cfg: quick, batch: records(8),
			handler:     failing(5, errBoom),
			wantCalls:   []string{"0-7", "0-3", "4-7", "4-5", "4-4", "5-5", "5-5", "5-5", "6-7"},
			wantCommits: []int64{4, 5, 6, 8},
			wantLetters: []letter{{Offset: 5, Attempts: 3}},
		},
		{
			name: "a record error commits the records before it and retries from it", cfg: quick, batch: records(10),
			handler:   once(3, func(_ []Record, i int) error { return &RecordError{Index: i, Err: errBoom} }),
			wantCalls: []string{"0-9", "3-9"}, wantCommits: []int64{3, 10},
		},
		{
			name: "a permanent record error dead-letters at once", cfg: quick, batch: records(10),
			handler:   failing(2, &RecordError{Index: 2, Err: errBoom, Permanent: true}),
			wantCalls: []string{"0-9", "3-9"}, wantCommits: []int64{2, 3, 10},
			wantLetters: []letter{{Offset: 2, Attempts: 1}},
		},
		{
			name: "a record error at the first record retries it", cfg: quick, batch: records(3),
			handler:   once(0, func(_ []Record, i int) error { return &RecordError{Index: i, Err: errBoom} }),
			wantCalls: []string{"0-2", "0-2"}, wantCommits: []int64{3},
		},
		{
			name: "a record error out of range fails the whole call", cfg: quick, batch: records(2),
			handler:   once(1, func(call []Record, _ int) error { return &RecordError{Index: len(call), Err: errBoom} }),
			wantCalls: []string{"0-1", "0-0", "1-1"}, wantCommits: []int64{1, 2},
		},
		{
			name: "a failing record older than MaxRecordAge is not retried",
			cfg:  Config{MaxRetries: 5, RetryBackoff: time.Hour, MaxRecordAge: time.Hour}, batch: old,
			handler:     failing(0, errBoom),
			wantCalls:   []string{"0-3", "0-1", "0-0", "1-3"},
			wantCommits: []int64{1, 4},
			wantLetters: []letter{{Offset: 0, Attempts: 1}},
		},
		{
			name: "a panic is a failure", cfg: Config{MaxRetries: -1}, batch: records(2),
			handler: func(call []Record) error {
				if call[0].Offset == 0 {
					panic("nil map")
				}
				return nil
			},
			wantCalls:   []string{"0-1", "0-0", "1-1"},
			wantCommits: []int64{1, 2},
			wantLetters: []letter{{Offset: 0, Attempts: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg, tt.handler)
			if got := h.w.process(tt.batch); !got {
				t.Fatalf("process: got %v, want true (not stopped)", got)
			}
			calls, commits := h.recorded()
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls: got %v, want %v", calls, tt.wantCalls)
			}
			if !slices.Equal(commits, tt.wantCommits) {
				t.Errorf("commits: got %v, want %v", commits, tt.wantCommits)
			}
			if got := h.dlq.letters(t); !slices.Equal(got, tt.wantLetters) {
				t.Errorf("dead letters: got %v, want %v", got, tt.wantLetters)
			}
		})
	}
}

// TestDeadLetterHeaders: the dead letter is the original record plus its
// origin, and goes to the configured topic.
func TestDeadLetterHeaders(t *testing.T) {
	h := newHarness(t, Config{MaxRetries: -1, Name: "fn", DeadLetterTopic: "dlq"}, failing(0, errors.New("boom")))
	batch := records(1)
	batch[0].Topic, batch[0].Partition, batch[0].Key = "in", 3, []byte("k")
	h.w.process(batch)
	if len(h.dlq.recs) != 1 {
		t.Fatalf("dead letters: got %d, want 1", len(h.dlq.recs))
	}
	got := h.dlq.recs[0]
	if got.Topic != "dlq" || string(got.Key) != "k" || string(got.Value) != "0" {
		t.Errorf("dead letter: got topic %q key %q value %q, want dlq, k, 0", got.Topic, got.Key, got.Value)
	}
	for _, want := range []struct{ key, value string }{
		{schemas.HeaderDLQTopic, "in"}, {schemas.HeaderDLQPartition, "3"}, {schemas.HeaderDLQOffset, "0"},
		{schemas.HeaderDLQError, "boom"}, {schemas.HeaderDLQAttempts, "1"}, {schemas.HeaderDLQConsumer, "fn"},
	} {
		if v, _ := got.Header(want.key); string(v) != want.value {
			t.Errorf("header %s: got %q, want %q", want.key, v, want.value)
		}
	}
}

// TestStopWhileFailing: a worker told to stop while a record is failing
// (waiting to retry, or unable to write the dead letter) stops at once and
// commits nothing past the record; the records after it are never called.
func TestStopWhileFailing(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		dlqFails  bool
		wantCalls []string
	}{
		{
			name: "waiting to retry", cfg: Config{RetryBackoff: time.Hour},
			wantCalls: []string{"0-3", "0-1", "0-0", "1-1"},
		},
		{
			name: "dead-letter topic down", cfg: Config{MaxRetries: -1, RetryBackoff: time.Millisecond}, dlqFails: true,
			wantCalls: []string{"0-3", "0-1", "0-0", "1-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := make(chan struct{})
			var reachedOnce sync.Once
			fail := failing(1, errors.New("boom"))
			h := newHarness(t, tt.cfg, func(call []Record) error {
				if len(call) == 1 && call[0].Offset == 1 {
					reachedOnce.Do(func() { close(reached) })
				}
				return fail(call)
			})
			h.dlq.fail = tt.dlqFails
			h.dlq.called = make(chan struct{}, 1)
			done := make(chan bool, 1)
			go func() { done <- h.w.process(records(4)) }()

			waitFor(t, "the failing record called alone", reached)
			if tt.dlqFails {
				// Two failed writes show it retries rather than moving on.
				waitFor(t, "a dead-letter write", h.dlq.called)
				waitFor(t, "a second dead-letter write", h.dlq.called)
			}
			h.w.signal()
			select {
			case got := <-done:
				if got {
					t.Fatalf("process: got %v, want false (stopped)", got)
				}
			case <-time.After(bound):
				t.Fatalf("process still running %s after stop, want it to return", bound)
			}
			calls, commits := h.recorded()
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls: got %v, want %v", calls, tt.wantCalls)
			}
			if want := []int64{1}; !slices.Equal(commits, want) {
				t.Errorf("commits: got %v, want %v (never past the failing record)", commits, want)
			}
			if got := h.dlq.letters(t); len(got) != 0 {
				t.Errorf("dead letters: got %v, want none", got)
			}
		})
	}
}

func waitFor(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(bound):
		t.Fatalf("waited %s for %s", bound, what)
	}
}

func TestCollect(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int
		queued    int
		wantSizes []int
	}{
		{name: "a full batch goes at once", batchSize: 100, queued: 100, wantSizes: []int{100}},
		{name: "more than a batch is split", batchSize: 100, queued: 150, wantSizes: []int{100, 50}},
		{name: "a few go when the window closes", batchSize: 100, queued: 5, wantSizes: []int{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{BatchSize: tt.batchSize, BatchWindow: 200 * time.Millisecond},
				func([]Record) error { return nil })
			// The inbox holds one batch; the rest come as collect makes room.
			go func() {
				for _, r := range records(tt.queued) {
					h.w.in <- r
				}
			}()
			var got []int
			for range tt.wantSizes {
				got = append(got, len(h.w.collect()))
			}
			if !slices.Equal(got, tt.wantSizes) {
				t.Errorf("batch sizes: got %v, want %v", got, tt.wantSizes)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	cfg := Pacing{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	tests := []struct {
		retry int
		want  time.Duration
	}{
		{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond}, {5, time.Second}, {1000, time.Second},
	}
	for _, tt := range tests {
		if got := cfg.backoff(tt.retry); got != tt.want {
			t.Errorf("backoff(%d): got %s, want %s", tt.retry, got, tt.want)
		}
	}
}

func TestSizeBucket(t *testing.T) {
	tests := []struct{ size, want int }{
		{1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {100, 7}, {128, 7}, {129, 8}, {1000, 10}, {1 << 20, sizeBuckets - 1},
	}
	for _, tt := range tests {
		if got := sizeBucket(tt.size); got != tt.want {
			t.Errorf("sizeBucket(%d): got %d, want %d", tt.size, got, tt.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	base := Config{Kafka: kafkaio.Config{Brokers: []string{"b:9092"}}, Group: "g", Topics: []string{"t"}}
	got, err := base.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: got %v, want nil", err)
	}
	if got.BatchSize != 100 || got.BatchWindow != 50*time.Millisecond || got.MaxRetries != 3 ||
		got.RetryBackoff != 100*time.Millisecond || got.MaxBackoff != 5*time.Second || got.MaxRecordAge != 0 ||
		got.Name != "g" || got.DeadLetterTopic != schemas.TopicDeadLetter || got.Prefetch != MinPrefetch {
		t.Errorf("defaults: got %+v", got)
	}
	if big, _ := (Config{Kafka: base.Kafka, Group: "g", Topics: base.Topics, BatchSize: 1000}).withDefaults(); big.Prefetch != 8000 {
		t.Errorf("Prefetch with BatchSize 1000: got %d, want 8 batches", big.Prefetch)
	}
	bad := []Config{{}, {Kafka: base.Kafka, Group: "g"}, {Kafka: base.Kafka, Topics: base.Topics},
		{Kafka: base.Kafka, Group: "g", Topics: base.Topics, BatchSize: -1},
		{Kafka: base.Kafka, Group: "g", Topics: base.Topics, BatchWindow: -time.Second},
		{Kafka: base.Kafka, Group: "g", Topics: base.Topics, Prefetch: -1}}
	for i, c := range bad {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("config %d (%+v): got nil error, want one", i, c)
		}
	}
}

// TestAwaitAbandonsHungCall: a call that ignores its cancelled context holds
// a rebalance or shutdown up for two timeouts at most; the worker then
// commits nothing more, even when the call returns success after all.
func TestAwaitAbandonsHungCall(t *testing.T) {
	called, release := make(chan struct{}), make(chan struct{})
	h := newHarness(t, Config{}, func([]Record) error {
		close(called)
		<-release // ignores its context
		return nil
	})
	go h.w.run()
	h.w.in <- records(1)[0]
	waitFor(t, "the call", called)

	const timeout = 20 * time.Millisecond
	begun := time.Now()
	h.w.signal()
	h.w.await(timeout)
	if took := time.Since(begun); took > bound {
		t.Fatalf("await: took %s, want about %s", took, 2*timeout)
	}
	if !h.w.lost.Load() {
		t.Errorf("worker after an abandoned call: got lost false, want true (no more commits)")
	}
	close(release)
	select {
	case <-h.w.done:
	case <-time.After(bound):
		t.Fatal("worker did not end after its call returned")
	}
	if _, commits := h.recorded(); len(commits) != 0 {
		t.Errorf("commits: got %v, want none from an abandoned worker", commits)
	}
}

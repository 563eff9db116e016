package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// These tests run on an embedded broker, or on the real cluster named by
// KAFKA_BROKERS. Every test uses topics and groups of its own.

// waitTimeout bounds every wait on the broker; generous for slow CI.
const waitTimeout = 60 * time.Second

// env is one test's cluster, producer and log.
type env struct {
	brokers []string
	prod    *kafkaio.Producer
	log     *slog.Logger
	logs    *syncbuf.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	brokers := kafkatest.Cluster(t)
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("trigger logs:\n%s", tail(logs.String(), 20_000))
		}
	})
	p, err := kafkaio.NewProducer(kafkatest.Config(brokers, 1), log)
	if err != nil {
		t.Fatalf("NewProducer: got %v, want nil", err)
	}
	t.Cleanup(p.Close)
	return &env{brokers: brokers, prod: p, log: log, logs: logs}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// name is a topic or group name unique to this test and run.
func name(t *testing.T, what string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	return fmt.Sprintf("%s-%s-%d", clean, what, time.Now().UnixNano())
}

func (e *env) topic(t *testing.T, what string, partitions int) string {
	t.Helper()
	topic := name(t, what)
	kafkatest.CreateTopic(t, e.brokers, topic, partitions, nil)
	return topic
}

// write writes msgs to topic in this order and waits for every ack.
func (e *env) write(t *testing.T, topic string, msgs ...cekafka.Message) {
	t.Helper()
	recs := make([]kafkaio.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = kafkaio.Record{Topic: topic, Message: m}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := e.prod.Write(ctx, recs...); err != nil {
		t.Fatalf("write %d records to %s: got %v, want nil", len(recs), topic, err)
	}
}

// plain is n records numbered from first: value "<n>", keys spread over keys.
func plain(first, n, keys int) []cekafka.Message {
	msgs := make([]cekafka.Message, n)
	for i := range msgs {
		v := first + i
		msgs[i] = cekafka.Message{Key: fmt.Appendf(nil, "item-%d", v%keys), Value: []byte(strconv.Itoa(v))}
	}
	return msgs
}

func (e *env) config(topic, group string) trigger.Config {
	return trigger.Config{
		Kafka:      kafkatest.Config(e.brokers, 1),
		Group:      group,
		Topics:     []string{topic},
		Name:       group,
		Log:        e.log,
		DeadLetter: e.prod,
	}
}

// running is a trigger whose Run is in a goroutine.
type running struct {
	*trigger.Trigger
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start runs a trigger and waits until it has partitions.
func start(t *testing.T, cfg trigger.Config, h trigger.Handler) *running {
	t.Helper()
	tr, err := trigger.New(cfg, h)
	if err != nil {
		t.Fatalf("New: got %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Trigger: tr, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- tr.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-tr.Ready():
	case err := <-r.done:
		t.Fatalf("Run: returned %v before it had partitions", err)
	case <-time.After(waitTimeout):
		t.Fatalf("trigger had no partitions after %s", waitTimeout)
	}
	return r
}

// stop stops the trigger and checks that Run returns nil, within a bound.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		begun := time.Now()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: got %v, want nil after a clean shutdown", err)
			}
			t.Logf("Run returned %s after stop; %+v", time.Since(begun).Round(time.Millisecond), r.Stats())
		case <-time.After(waitTimeout):
			t.Errorf("Run still running %s after stop, want it to return", waitTimeout)
		}
	})
}

// eventually polls cond until it holds, failing t after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", waitTimeout, what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// ledger records which records a handler completed.
type ledger struct {
	mu sync.Mutex
	// done counts completions per value.
	done map[string]int
	// first and last are, per partition, the lowest and highest offset done.
	first, last map[int32]int64
}

func newLedger() *ledger {
	return &ledger{done: map[string]int{}, first: map[int32]int64{}, last: map[int32]int64{}}
}

// add records plain records, whose value is their number.
func (l *ledger) add(batch []trigger.Record) {
	for _, r := range batch {
		l.addOne(r, string(r.Value))
	}
}

// addEvents records thing events, numbered by their data.
func (l *ledger) addEvents(events []trigger.Event[thing]) {
	for _, e := range events {
		l.addOne(e.Record, strconv.Itoa(e.Data.N))
	}
}

func (l *ledger) addOne(r trigger.Record, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done[value]++
	if f, ok := l.first[r.Partition]; !ok || r.Offset < f {
		l.first[r.Partition] = r.Offset
	}
	l.last[r.Partition] = max(l.last[r.Partition], r.Offset)
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.done)
}

func (l *ledger) has(value string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done[value] > 0
}

// values returns the values done, as numbers, sorted, with repeats.
func (l *ledger) values(t *testing.T) []int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for v, n := range l.done {
		i, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("value %q is no number", v)
		}
		for range n {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func span(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestOrder: a partition's records reach the handler in offset order, one
// call at a time, while different partitions run in parallel.
func TestOrder(t *testing.T) {
	const partitions, n = 8, 2000
	e := newEnv(t)
	topic := e.topic(t, "in", partitions)
	e.write(t, topic, plain(0, n, 64)...)

	var (
		mu         sync.Mutex
		last       = map[int32]int64{}
		violations []string
		inFlight   [partitions]atomic.Int32
		running    atomic.Int32
		maxRunning int32
		first      atomic.Bool
		overlap    = make(chan struct{})
		overlapped sync.Once
	)
	done := newLedger()
	h := func(_ context.Context, batch []trigger.Record) error {
		p := batch[0].Partition
		if inFlight[p].Add(1) != 1 {
			mu.Lock()
			violations = append(violations, fmt.Sprintf("two calls of partition %d at once", p))
			mu.Unlock()
		}
		defer inFlight[p].Add(-1)
		now := running.Add(1)
		defer running.Add(-1)
		mu.Lock()
		maxRunning = max(maxRunning, now)
		mu.Unlock()
		if now > 1 {
			overlapped.Do(func() { close(overlap) })
		}
		if first.CompareAndSwap(false, true) {
			// The first call waits for a call of another partition to start.
			// A trigger that ran partitions one at a time never would, and
			// the wait would end at the deadline with maxRunning 1.
			select {
			case <-overlap:
			case <-time.After(10 * time.Second):
			}
		}
		mu.Lock()
		for _, r := range batch {
			if r.Partition != p {
				violations = append(violations, fmt.Sprintf("partitions %d and %d in one call", p, r.Partition))
			}
			if prev, ok := last[p]; ok && r.Offset <= prev {
				violations = append(violations, fmt.Sprintf("partition %d: offset %d after %d", p, r.Offset, prev))
			}
			last[p] = r.Offset
		}
		mu.Unlock()
		done.add(batch)
		return nil
	}
	begun := time.Now()
	r := start(t, e.config(topic, name(t, "group")), h)
	eventually(t, "every record processed", func() bool { return done.count() == n })
	t.Logf("%d records over %d partitions in %s", n, partitions, time.Since(begun).Round(time.Millisecond))
	r.stop(t)

	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("order violations: got %d (first: %v), want none", len(violations), violations[:min(5, len(violations))])
	}
	if got := done.values(t); !slices.Equal(got, span(0, n)) {
		t.Errorf("records done: got %d (with repeats), want each of %d once", len(got), n)
	}
	if got := len(last); got != partitions {
		t.Errorf("partitions called: got %d, want %d", got, partitions)
	}
	if got := maxRunning; got < 2 {
		t.Errorf("most calls running at once: got %d, want > 1 (partitions in parallel)", got)
	}
	st := r.Stats()
	if st.MaxConcurrent < 2 || st.Processed != n || st.MaxBatch > trigger.DefaultBatchSize {
		t.Errorf("stats: got %+v, want MaxConcurrent > 1, Processed %d, MaxBatch <= %d", st, n, trigger.DefaultBatchSize)
	}
}

// TestBatching: calls carry at most BatchSize records; a burst fills them,
// and a few records wait no longer than the window.
func TestBatching(t *testing.T) {
	tests := []struct {
		name      string
		records   int
		window    time.Duration
		wantFull  int // at least this many calls of exactly BatchSize
		wantCalls int // at most this many calls (0: no limit)
	}{
		{name: "a burst fills batches", records: 1000, window: time.Second, wantFull: 8},
		{name: "a few go when the window closes", records: 5, window: 50 * time.Millisecond, wantCalls: 5},
	}
	const batchSize = 100
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := e.topic(t, "in", 1)
			e.write(t, topic, plain(0, tt.records, 10)...)
			var mu sync.Mutex
			var sizes []int
			done := newLedger()
			cfg := e.config(topic, name(t, "group"))
			cfg.BatchSize, cfg.BatchWindow = batchSize, tt.window
			r := start(t, cfg, func(_ context.Context, batch []trigger.Record) error {
				mu.Lock()
				sizes = append(sizes, len(batch))
				mu.Unlock()
				done.add(batch)
				return nil
			})
			eventually(t, "every record processed", func() bool { return done.count() == tt.records })
			r.stop(t)

			mu.Lock()
			defer mu.Unlock()
			full, total := 0, 0
			for _, s := range sizes {
				if s > batchSize {
					t.Errorf("call of %d records, want at most %d", s, batchSize)
				}
				if s == batchSize {
					full++
				}
				total += s
			}
			t.Logf("call sizes: %v", sizes)
			if full < tt.wantFull {
				t.Errorf("full calls: got %d of %d, want at least %d", full, len(sizes), tt.wantFull)
			}
			if tt.wantCalls > 0 && len(sizes) > tt.wantCalls {
				t.Errorf("calls: got %d, want at most %d", len(sizes), tt.wantCalls)
			}
			if total != tt.records {
				t.Errorf("records in calls: got %d, want %d (no failures, so each once)", total, tt.records)
			}
			if st := r.Stats(); st.MaxBatch > batchSize || st.Invocations != int64(len(sizes)) {
				t.Errorf("stats: got MaxBatch %d, Invocations %d, want <= %d and %d", st.MaxBatch, st.Invocations, batchSize, len(sizes))
			}
		})
	}
}

// TestCommitOnlyAfterSuccess: a trigger commits exactly the records its
// handler completed. A second trigger in the group starts right after them:
// it repeats nothing completed and skips nothing that was not.
func TestCommitOnlyAfterSuccess(t *testing.T) {
	const n, more, bad = 300, 50, 150
	tests := []struct {
		name string
		// failAlways: the record at offset bad fails in the first trigger
		// on every call, which is stopped while it waits to retry.
		// Otherwise it fails once and the retry succeeds.
		failAlways bool
		wantFirst  int // the first trigger completes [0, wantFirst)
	}{
		{name: "failed once, retried, committed", wantFirst: n},
		{name: "stopped while retrying", failAlways: true, wantFirst: bad},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := e.topic(t, "in", 1)
			group := name(t, "group")
			e.write(t, topic, plain(0, n, 7)...)

			first, second := newLedger(), newLedger()
			var failed atomic.Bool
			alone := make(chan struct{})
			var aloneOnce sync.Once
			cfg := e.config(topic, group)
			cfg.BatchSize = 100
			cfg.RetryBackoff = 10 * time.Millisecond
			if tt.failAlways {
				// Long enough that the trigger is stopped before it retries.
				cfg.RetryBackoff, cfg.MaxBackoff = time.Hour, time.Hour
			}
			a := start(t, cfg, func(_ context.Context, batch []trigger.Record) error {
				for _, r := range batch {
					if r.Offset != bad || (!tt.failAlways && failed.Load()) {
						continue
					}
					failed.Store(true)
					if len(batch) == 1 {
						aloneOnce.Do(func() { close(alone) })
					}
					return fmt.Errorf("record %d refused", r.Offset)
				}
				first.add(batch)
				return nil
			})
			if tt.failAlways {
				waitFor(t, "the failing record called alone", alone)
			} else {
				eventually(t, "every record processed", func() bool { return first.count() == n })
			}
			a.stop(t)

			e.write(t, topic, plain(n, more, 7)...)
			b := start(t, cfg, func(_ context.Context, batch []trigger.Record) error {
				second.add(batch)
				return nil
			})
			eventually(t, "the last record processed", func() bool { return second.has(strconv.Itoa(n + more - 1)) })
			b.stop(t)

			if got, want := first.values(t), span(0, tt.wantFirst); !slices.Equal(got, want) {
				t.Errorf("first trigger completed: got %s, want each of %s once", summary(got), summary(want))
			}
			if got, want := second.values(t), span(tt.wantFirst, n+more); !slices.Equal(got, want) {
				t.Errorf("second trigger completed: got %s, want each of %s once", summary(got), summary(want))
			}
		})
	}
}

// summary describes a sorted list of numbers briefly.
func summary(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d records %d..%d", len(xs), xs[0], xs[len(xs)-1])
}

func waitFor(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("waited %s for %s", waitTimeout, what)
	}
}

// TestPoison: records that can never be processed go to the dead-letter
// topic with their origin, and the partition moves on past them.
func TestPoison(t *testing.T) {
	const n, maxRetries = 100, 2
	// The bad records, by offset; all others are good things.
	bad := map[int64]struct {
		msg          func(t *testing.T) cekafka.Message
		wantAttempts int
		wantErr      string
	}{
		20: {func(*testing.T) cekafka.Message { return undecodable("item") }, 1, "not a CloudEvent"},
		40: {func(t *testing.T) cekafka.Message { return thingMessage(t, "test.other.v1", "item", thing{N: 40}) }, 1, thingType},
		60: {func(t *testing.T) cekafka.Message {
			return thingMessage(t, thingType, "item", thing{N: 60, Fail: true})
		},
			maxRetries + 1, "refused thing 60"},
	}
	e := newEnv(t)
	topic := e.topic(t, "in", 1)
	dlq := e.topic(t, "dlq", 1)
	msgs := make([]cekafka.Message, n)
	for i := range msgs {
		if b, ok := bad[int64(i)]; ok {
			msgs[i] = b.msg(t)
			continue
		}
		msgs[i] = thingMessage(t, thingType, "item", thing{N: i})
	}
	e.write(t, topic, msgs...)

	var mu sync.Mutex
	var got []int
	cfg := e.config(topic, name(t, "group"))
	cfg.Name = "poison-test"
	cfg.DeadLetterTopic = dlq
	cfg.MaxRetries, cfg.RetryBackoff, cfg.MaxBackoff = maxRetries, 5*time.Millisecond, 20*time.Millisecond
	r := start(t, cfg, trigger.Events(thingType, func(_ context.Context, events []trigger.Event[thing]) error {
		for _, ev := range events {
			if ev.Data.Fail {
				return fmt.Errorf("refused thing %d", ev.Data.N)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range events {
			got = append(got, ev.Data.N)
		}
		return nil
	}))
	eventually(t, "every record processed or dead-lettered", func() bool {
		st := r.Stats()
		return st.Processed == n-int64(len(bad)) && st.DeadLettered == int64(len(bad))
	})
	r.stop(t)

	var want []int
	for i := range n {
		if _, isBad := bad[int64(i)]; !isBad {
			want = append(want, i)
		}
	}
	mu.Lock()
	if !slices.Equal(got, want) {
		t.Errorf("things processed: got %v, want %v (each good one once, in order)", got, want)
	}
	mu.Unlock()

	letters := kafkatest.ReadN(t, e.brokers, dlq, len(bad), waitTimeout)
	if c := kafkatest.Count(t, e.brokers, dlq, 1); c != int64(len(bad)) {
		t.Errorf("dead letters: got %d, want %d", c, len(bad))
	}
	seen := map[int64]bool{}
	for _, l := range letters {
		header := func(key string) string {
			v, _ := l.Header(key)
			return string(v)
		}
		offset, err := strconv.ParseInt(header(schemas.HeaderDLQOffset), 10, 64)
		b, ok := bad[offset]
		if err != nil || !ok {
			t.Errorf("dead letter with origin offset %q, want one of %v", header(schemas.HeaderDLQOffset), slices.Collect(maps.Keys(bad)))
			continue
		}
		seen[offset] = true
		t.Run(fmt.Sprintf("offset %d", offset), func(t *testing.T) {
			if want := msgs[offset]; string(l.Value) != string(want.Value) || string(l.Key) != string(want.Key) {
				t.Errorf("key, value: got %q, %q, want the original %q, %q", l.Key, l.Value, want.Key, want.Value)
			}
			for _, h := range []struct{ key, want string }{
				{schemas.HeaderDLQTopic, topic},
				{schemas.HeaderDLQPartition, "0"},
				{schemas.HeaderDLQAttempts, strconv.Itoa(b.wantAttempts)},
				{schemas.HeaderDLQConsumer, cfg.Name},
			} {
				if got := header(h.key); got != h.want {
					t.Errorf("header %s: got %q, want %q", h.key, got, h.want)
				}
			}
			if got := header(schemas.HeaderDLQError); !strings.Contains(got, b.wantErr) {
				t.Errorf("header %s: got %q, want it to mention %q", schemas.HeaderDLQError, got, b.wantErr)
			}
		})
	}
	if len(seen) != len(bad) {
		t.Errorf("dead-lettered offsets: got %v, want %v", slices.Sorted(maps.Keys(seen)), slices.Sorted(maps.Keys(bad)))
	}
}

// failingWriter is a dead-letter topic that is down.
type failingWriter struct{ calls chan struct{} }

func (w failingWriter) Write(context.Context, ...kafkaio.Record) error {
	select {
	case w.calls <- struct{}{}:
	default:
	}
	return errors.New("dead-letter topic down")
}

// TestDeadLetterUnavailable: while a poison record cannot be dead-lettered,
// its partition waits at it; nothing after it is processed or committed, so
// a trigger started later meets the record again and dead-letters it.
func TestDeadLetterUnavailable(t *testing.T) {
	const n, poison = 20, 5
	e := newEnv(t)
	topic := e.topic(t, "in", 1)
	dlq := e.topic(t, "dlq", 1)
	msgs := make([]cekafka.Message, n)
	for i := range msgs {
		msgs[i] = thingMessage(t, thingType, "item", thing{N: i})
	}
	msgs[poison] = undecodable("item")
	e.write(t, topic, msgs...)

	first, second := newLedger(), newLedger()
	handler := func(l *ledger) trigger.Handler {
		return trigger.Events(thingType, func(_ context.Context, events []trigger.Event[thing]) error {
			l.addEvents(events)
			return nil
		})
	}
	down := failingWriter{calls: make(chan struct{}, 1)}
	cfg := e.config(topic, name(t, "group"))
	cfg.DeadLetterTopic = dlq
	cfg.RetryBackoff, cfg.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	cfg.DeadLetter = down
	a := start(t, cfg, handler(first))
	for i := range 3 {
		waitFor(t, fmt.Sprintf("dead-letter write %d", i+1), down.calls)
	}
	a.stop(t)

	cfg.DeadLetter = e.prod
	b := start(t, cfg, handler(second))
	eventually(t, "the last record processed", func() bool { return second.has(strconv.Itoa(n - 1)) })
	b.stop(t)

	if got, want := first.values(t), span(0, poison); !slices.Equal(got, want) {
		t.Errorf("processed while the dead-letter topic was down: got %s, want %s", summary(got), summary(want))
	}
	if got, want := second.values(t), span(poison+1, n); !slices.Equal(got, want) {
		t.Errorf("processed afterwards: got %s, want %s", summary(got), summary(want))
	}
	letters := kafkatest.ReadN(t, e.brokers, dlq, 1, waitTimeout)
	if got, _ := letters[0].Header(schemas.HeaderDLQOffset); string(got) != strconv.Itoa(poison) {
		t.Errorf("dead letter origin offset: got %q, want %d", got, poison)
	}
	if c := kafkatest.Count(t, e.brokers, dlq, 1); c != 1 {
		t.Errorf("dead letters: got %d, want 1", c)
	}
}

// TestRestart: a trigger that loses its partitions mid-stream, first to a
// new member of the group (a rebalance) and then by stopping, commits what it
// completed and nothing else, and the new member starts each partition right
// after the old one's last completed record: every record is processed, none
// twice. The old trigger's last calls are still running when it loses the
// partitions; they are cut short by the shutdown timeout, and either fail
// (nothing of theirs is committed) or succeed anyway (committed before the
// partition is handed over).
func TestRestart(t *testing.T) {
	const partitions, n, gate = 4, 2000, 500
	tests := []struct {
		name string
		// cutShort is what a call returns once its context is cancelled.
		cutShort func(ctx context.Context) error
	}{
		{name: "calls cut short fail", cutShort: func(ctx context.Context) error { return ctx.Err() }},
		{name: "calls cut short succeed", cutShort: func(context.Context) error { return nil }},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := e.topic(t, "in", partitions)
			e.write(t, topic, plain(0, n/2, 32)...)

			old, replacement := newLedger(), newLedger()
			var blocked atomic.Int32
			cfg := e.config(topic, name(t, "group"))
			cfg.ShutdownTimeout = 300 * time.Millisecond
			// The old trigger completes records below gate at once, then
			// hangs on each partition in a call that only the end of its
			// context ends, like a slow function.
			a := start(t, cfg, func(ctx context.Context, batch []trigger.Record) error {
				for _, r := range batch {
					if v, _ := strconv.Atoi(string(r.Value)); v >= gate {
						blocked.Add(1)
						<-ctx.Done()
						if err := tt.cutShort(ctx); err != nil {
							return err
						}
						break
					}
				}
				old.add(batch)
				return nil
			})
			begun := time.Now()
			eventually(t, "the old trigger hung on every partition", func() bool { return blocked.Load() == partitions })
			t.Logf("old trigger hung on every partition after %s", time.Since(begun).Round(time.Millisecond))

			b := start(t, cfg, func(_ context.Context, batch []trigger.Record) error {
				replacement.add(batch)
				return nil
			})
			eventually(t, "the group shared between both", func() bool {
				as, bs := a.Stats().Assigned, b.Stats().Assigned
				return as > 0 && bs > 0 && as+bs == partitions
			})
			t.Logf("group shared after %s", time.Since(begun).Round(time.Millisecond))
			a.stop(t)
			e.write(t, topic, plain(n/2, n/2, 32)...)
			eventually(t, "every record processed", func() bool {
				for v := range n {
					if !old.has(strconv.Itoa(v)) && !replacement.has(strconv.Itoa(v)) {
						return false
					}
				}
				return true
			})
			t.Logf("every record processed after %s", time.Since(begun).Round(time.Millisecond))
			b.stop(t)

			old.mu.Lock()
			replacement.mu.Lock()
			defer old.mu.Unlock()
			defer replacement.mu.Unlock()
			repeats := 0
			for v := range old.done {
				if replacement.done[v] > 0 {
					repeats++
				}
			}
			if repeats > 0 {
				t.Errorf("records completed by both: got %d, want 0", repeats)
			}
			for p := range int32(partitions) {
				want := int64(0)
				if last, ok := old.last[p]; ok {
					want = last + 1
				}
				if got := replacement.first[p]; got != want {
					t.Errorf("partition %d: replacement started at offset %d, want %d (right after the old trigger's last completed record)", p, got, want)
				}
			}
			t.Logf("old trigger completed %d records, replacement %d", len(old.done), len(replacement.done))
		})
	}
}

// TestSlowPartition: a partition whose calls do not return holds back only
// itself. Its inbox fills and it is paused, while the other partition's
// records all go through; then it catches up, in order, with nothing lost.
func TestSlowPartition(t *testing.T) {
	const n = 400
	e := newEnv(t)
	topic := e.topic(t, "in", 2)
	e.write(t, topic, plain(0, n, 16)...)
	perPartition := map[int32]int{}
	for _, r := range kafkatest.ReadN(t, e.brokers, topic, n, waitTimeout) {
		perPartition[r.Partition]++
	}
	if len(perPartition) != 2 {
		t.Fatalf("records per partition: got %v, want records in both", perPartition)
	}

	var slow atomic.Int32
	slow.Store(-1)
	othersDone := make(chan struct{})
	var othersOnce sync.Once
	var heldBack atomic.Bool // the slow partition was released by the others finishing
	var otherDone atomic.Int64
	done := newLedger()
	var mu sync.Mutex
	lastOffset := map[int32]int64{}
	cfg := e.config(topic, name(t, "group"))
	// A small inbox (2 batches of 10) and prefetch (4 batches) fill at
	// once behind a stuck call.
	cfg.BatchSize, cfg.Prefetch = 10, 40
	r := start(t, cfg, func(_ context.Context, batch []trigger.Record) error {
		p := batch[0].Partition
		slow.CompareAndSwap(-1, p)
		if p == slow.Load() {
			select {
			case <-othersDone:
				heldBack.Store(true)
			case <-time.After(waitTimeout):
			}
		}
		mu.Lock()
		for _, r := range batch {
			if prev, ok := lastOffset[p]; ok && r.Offset != prev+1 {
				t.Errorf("partition %d: offset %d after %d, want every offset in order", p, r.Offset, prev)
			}
			lastOffset[p] = r.Offset
		}
		mu.Unlock()
		done.add(batch)
		if p != slow.Load() && otherDone.Add(int64(len(batch))) == int64(perPartition[p]) {
			othersOnce.Do(func() { close(othersDone) })
		}
		return nil
	})
	eventually(t, "every record processed", func() bool { return done.count() == n })
	r.stop(t)
	if !heldBack.Load() {
		t.Errorf("the stuck partition was released by the deadline, want by the other partition finishing first")
	}
	if st := r.Stats(); st.Pauses == 0 {
		t.Errorf("stats: got %d pauses, want > 0 (the stuck partition's inbox filled up)", st.Pauses)
	}
}

// TestFencedRejoins: a static member fenced in its group (another consumer
// joined under its group.instance.id, as a member's own rejoin after a
// broker restart was seen to) does not end Run: the trigger joins again with
// a new consumer and goes on processing.
func TestFencedRejoins(t *testing.T) {
	if !kafkatest.Real() {
		t.Skip("the embedded broker does not fence static members; runs on a real broker (make test-integration)")
	}
	e := newEnv(t)
	topic := e.topic(t, "in", 2)
	cfg := e.config(topic, name(t, "group"))
	cfg.Kafka.InstanceID = name(t, "instance")
	done := newLedger()
	tr := start(t, cfg, func(_ context.Context, batch []trigger.Record) error {
		done.add(batch)
		return nil
	})

	// An intruder under the same static id fences the trigger's consumer.
	intruder, err := kafkaio.NewMember(cfg.Kafka.GroupConsumer(cfg.Group, nil), e.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := intruder.SubscribeTopics([]string{topic}, nil); err != nil {
		t.Fatal(err)
	}
	assigned := false
	eventually(t, "the intruder joined under the trigger's static id", func() bool {
		intruder.Poll(100)
		parts, err := intruder.Assignment()
		assigned = assigned || err == nil && len(parts) > 0
		return assigned
	})
	intruder.Close()
	// The records go in once the fenced consumer is gone, so only its
	// replacement can process them.
	eventually(t, "the trigger saw it was fenced", func() bool { return strings.Contains(e.logs.String(), "fenced in the group") })

	e.write(t, topic, plain(0, 100, 8)...)
	eventually(t, "every record processed by the replacement", func() bool { return done.count() >= 100 })
	select {
	case err := <-tr.done:
		t.Fatalf("Run: returned %v after its member was fenced, want it to go on", err)
	default:
	}
}

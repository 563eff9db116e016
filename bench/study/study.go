// Package study measures the Kafka trigger's batching against the design's
// arithmetic (DESIGN, principle 7). A warm function costs a fixed overhead
// per call whatever the call carries, so p partitions, each calling it with
// batches of B records, can handle at most p × B / overhead records a second:
// 5 partitions × 1,000 events per 200 ms are 25,000 events/s.
//
// A Case pre-fills a fresh topic with bid-sized events (auction.bid.placed.v1
// CloudEvents, as the edge writes them, spread evenly over the partitions),
// then runs the real trigger over it with a function that does nothing but
// pay the overhead once per call, and measures how fast the backlog drains.
// Where the result falls short of the arithmetic, something else is the
// limit: the consumer and the broker, the trigger's flow control (a paused
// partition, once resumed, waits for a fresh fetch), or batches that do not
// fill before their window closes.
//
// In: a topic of its own per case, created and deleted by the Runner. Out:
// nothing on Kafka; a Result per case, as a markdown table or JSON.
package study

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
)

// Case is one configuration of the trigger under study.
type Case struct {
	Partitions int
	BatchSize  int
	Window     time.Duration
	// Overhead is what each call of the function costs, whatever its size.
	Overhead time.Duration
	// Events is how many events to pre-fill; 0 lets the Runner choose.
	Events int
}

// Ceiling is the arithmetic's bound in events/s: partitions × batch /
// (overhead + window-fill time). On a backlog the fill time is zero: the
// next batch is in the worker's inbox by the time a call returns, and the
// window never closes on a short batch. With no overhead there is nothing
// to divide by, and Ceiling is +Inf: the consumer is the limit.
func (c Case) Ceiling() float64 {
	if c.Overhead <= 0 {
		return math.Inf(1)
	}
	return float64(c.Partitions*c.BatchSize) / c.Overhead.Seconds()
}

func (c Case) String() string {
	return fmt.Sprintf("%d partitions, batch %d, window %s, overhead %s", c.Partitions, c.BatchSize, c.Window, c.Overhead)
}

func (c Case) validate() error {
	var errs []error
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions %d, want >= 1", c.Partitions))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size %d, want >= 1", c.BatchSize))
	}
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window %s, want > 0", c.Window))
	}
	if c.Overhead < 0 {
		errs = append(errs, fmt.Errorf("overhead %s, want >= 0", c.Overhead))
	}
	if c.Events < 0 {
		errs = append(errs, fmt.Errorf("events %d, want >= 0", c.Events))
	}
	return errors.Join(errs...)
}

// Grid is every combination of the values given, in nesting order
// overhead, window, partitions, batch size.
func Grid(partitions, batches []int, windows, overheads []time.Duration) []Case {
	var cs []Case
	for _, o := range overheads {
		for _, w := range windows {
			for _, p := range partitions {
				for _, b := range batches {
					cs = append(cs, Case{Partitions: p, BatchSize: b, Window: w, Overhead: o})
				}
			}
		}
	}
	return cs
}

// Result is what one Case measured.
type Result struct {
	Case
	// Done counts distinct events whose call returned; Duplicates counts
	// events handed to the function again after that (want 0: nothing
	// rebalances during a case).
	Done, Duplicates int64
	// PerPartition is Done per partition.
	PerPartition []int64
	// Invocations counts calls of the function; Records the events they
	// carried (Done plus Duplicates); MaxBatch is the largest call.
	Invocations, Records int64
	MaxBatch             int
	// Pauses counts partitions paused because their function fell behind.
	Pauses int64
	// Elapsed runs from the first call's start to the last call's end.
	Elapsed time.Duration
	// Startup runs from the trigger having partitions to the first call.
	Startup time.Duration
	// MeanFill is the mean time a partition spent between two calls:
	// collecting the next batch, up to the window.
	MeanFill time.Duration
	// Cut reports that the case was stopped at its deadline before the
	// backlog was drained: Rate is then over what was done by then.
	Cut bool
}

// MeanBatch is the mean number of events per call.
func (r Result) MeanBatch() float64 {
	if r.Invocations == 0 {
		return 0
	}
	return float64(r.Records) / float64(r.Invocations)
}

// Rate is the events done per second, end to end.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Records) / r.Elapsed.Seconds()
}

// Ratio is Rate over the Case's Ceiling; 0 when there is no ceiling.
func (r Result) Ratio() float64 {
	c := r.Ceiling()
	if math.IsInf(c, 1) || c == 0 {
		return 0
	}
	return r.Rate() / c
}

// Defaults of Config.
const (
	// DefaultDuration keeps a case to a few seconds: long enough for many
	// calls at 100 ms each, short enough for a grid of 64 cases.
	DefaultDuration = 3 * time.Second
	// DefaultMaxEvents bounds the pre-fill of a case without a ceiling.
	DefaultMaxEvents = 50_000
	// minBatches is the fewest full batches per partition a case gets, so
	// that a rate is over a few calls, not one.
	minBatches = 3
	// prefillChunk is how many events one write waits for.
	prefillChunk = 5_000
	// setupTimeout bounds creating a topic and the trigger joining its group.
	setupTimeout = 60 * time.Second
	// pollEvery is how often a case checks whether the backlog is done.
	pollEvery = 10 * time.Millisecond
)

// Config is what a Runner needs.
type Config struct {
	// Kafka is the cluster: Brokers, and Security for a secured one.
	Kafka kafkaio.Config
	// Duration is how long a case should take; its event count is the
	// ceiling × Duration (default 3 s). A case is cut at twice Duration.
	Duration time.Duration
	// MaxEvents caps a case's event count (default 50,000).
	MaxEvents int
	// CreateTopic creates a topic (default: kafkaio.CreateTopic). Tests
	// pass kafkatest.CreateTopic.
	CreateTopic func(ctx context.Context, topic string, partitions int) error
	// Log receives the trigger's logs (default: discarded).
	Log *slog.Logger
}

// Runner runs cases one after the other on one cluster.
type Runner struct {
	cfg  Config
	prod *kafkaio.Producer
}

// New connects a Runner. Close it when done.
func New(cfg Config) (*Runner, error) {
	if len(cfg.Kafka.Brokers) == 0 {
		return nil, errors.New("study: no Kafka brokers")
	}
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Kafka.ClientID == "" {
		cfg.Kafka.ClientID = "auction-study"
	}
	if cfg.Kafka.DeliveryTimeout <= 0 {
		cfg.Kafka.DeliveryTimeout = 30 * time.Second
	}
	prod, err := kafkaio.NewProducer(cfg.Kafka, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	return &Runner{cfg: cfg, prod: prod}, nil
}

// Close closes the Runner's Kafka clients.
func (r *Runner) Close() { r.prod.Close() }

// events is how many events c gets: the ceiling × Duration, at least a few
// full batches per partition, at most MaxEvents, a multiple of partitions.
func (r *Runner) events(c Case) int {
	n := c.Events
	if n == 0 {
		n = r.cfg.MaxEvents
		if ceil := c.Ceiling(); !math.IsInf(ceil, 1) {
			n = int(min(ceil*r.cfg.Duration.Seconds(), float64(r.cfg.MaxEvents)))
		}
		n = max(n, minBatches*c.Partitions*c.BatchSize)
	}
	return max(c.Partitions, n-n%c.Partitions)
}

// Run runs one case: a fresh topic, pre-filled; the trigger over it until
// every event is done or the case's deadline; the topic deleted.
func (r *Runner) Run(ctx context.Context, c Case) (Result, error) {
	if err := c.validate(); err != nil {
		return Result{}, fmt.Errorf("study case: %w", err)
	}
	c.Events = r.events(c)
	stamp := time.Now().UnixNano()
	topic := fmt.Sprintf("study-p%d-b%d-w%d-o%d-%d", c.Partitions, c.BatchSize,
		c.Window.Milliseconds(), c.Overhead.Milliseconds(), stamp)

	setup, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if err := r.createTopic(setup, topic, c.Partitions); err != nil {
		return Result{}, fmt.Errorf("study %s: %w", c, err)
	}
	defer r.deleteTopic(topic)
	if err := r.prefill(ctx, topic, c); err != nil {
		return Result{}, fmt.Errorf("study %s: %w", c, err)
	}
	res, err := r.drain(ctx, topic, c)
	if err != nil {
		return Result{}, fmt.Errorf("study %s: %w", c, err)
	}
	return res, nil
}

// prefill writes c.Events bids to topic, waiting for every acknowledgement.
func (r *Runner) prefill(ctx context.Context, topic string, c Case) error {
	b := newBids(c.Partitions)
	for from := 0; from < c.Events; from += prefillChunk {
		n := min(prefillChunk, c.Events-from)
		evs := make([]event.Event, n)
		for i := range evs {
			e, err := b.event(from + i)
			if err != nil {
				return err
			}
			evs[i] = e
		}
		if err := r.prod.PublishEvents(ctx, topic, evs...); err != nil {
			return fmt.Errorf("pre-fill %s: %w", topic, err)
		}
	}
	return nil
}

// drain runs the trigger over topic until the backlog is done.
func (r *Runner) drain(ctx context.Context, topic string, c Case) (Result, error) {
	m := newMeter(c)
	tr, err := trigger.New(trigger.Config{
		Kafka:       r.cfg.Kafka,
		Group:       topic + "-fn",
		Topics:      []string{topic},
		BatchSize:   c.BatchSize,
		BatchWindow: c.Window,
		Name:        "study",
		Log:         r.cfg.Log,
		DeadLetter:  r.prod,
	}, m.handle)
	if err != nil {
		return Result{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- tr.Run(runCtx) }()

	var ready time.Time
	join := time.NewTimer(setupTimeout)
	defer join.Stop()
	select {
	case <-tr.Ready():
		ready = time.Now()
	case err := <-done:
		return Result{}, fmt.Errorf("trigger stopped before it had partitions: %v", err)
	case <-join.C:
		stop()
		<-done
		return Result{}, fmt.Errorf("trigger had no partitions after %s", setupTimeout)
	case <-ctx.Done():
		<-done
		return Result{}, ctx.Err()
	}

	cut := m.waitDone(ctx, int64(c.Events), ready.Add(setupTimeout), 2*r.cfg.Duration)
	stop()
	if err := <-done; err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := m.result(tr.Stats(), ready, cut)
	res.Case = c
	return res, nil
}

// createTopic creates topic with the configured CreateTopic, or
// kafkaio.CreateTopic.
func (r *Runner) createTopic(ctx context.Context, topic string, partitions int) error {
	if r.cfg.CreateTopic != nil {
		return r.cfg.CreateTopic(ctx, topic, partitions)
	}
	return kafkaio.CreateTopic(ctx, r.cfg.Kafka, topic, partitions, nil)
}

// deleteTopic drops a case's topic, so that a long study does not fill
// the (in-memory) broker. Failing to is not worth failing the study for.
func (r *Runner) deleteTopic(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkaio.DeleteTopic(ctx, r.cfg.Kafka, topic); err != nil {
		r.cfg.Log.Warn("delete study topic", "topic", topic, "err", err)
	}
}

// meter is the function under study and its measurements.
type meter struct {
	overhead time.Duration
	// records counts events whose call returned, repeats included; the
	// case polls it.
	records atomic.Int64

	mu sync.Mutex
	// seen[p][o] counts the calls that returned with offset o of partition p.
	seen        [][]uint8
	first, last time.Time
	prevEnd     []time.Time
	fill        time.Duration
	fills       int64
}

func newMeter(c Case) *meter {
	return &meter{overhead: c.Overhead, seen: make([][]uint8, c.Partitions), prevEnd: make([]time.Time, c.Partitions)}
}

// handle is the function: it pays the overhead, once per call.
func (m *meter) handle(ctx context.Context, batch []trigger.Record) error {
	start := time.Now()
	simulateWarmInvocation(ctx, m.overhead)
	m.called(batch, start, time.Now())
	return nil
}

// simulateWarmInvocation stands for what a warm cloud function costs per
// call whatever it carries (the network round trip, the platform's
// dispatch): the cost that batching spreads over a batch's events.
func simulateWarmInvocation(ctx context.Context, overhead time.Duration) {
	if overhead <= 0 {
		return
	}
	t := time.NewTimer(overhead)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (m *meter) called(batch []trigger.Record, start, end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.first.IsZero() || start.Before(m.first) {
		m.first = start
	}
	if end.After(m.last) {
		m.last = end
	}
	p := int(batch[0].Partition)
	if p >= len(m.seen) {
		// Not a partition of the case's topic: cannot happen, and would
		// show as missing events.
		return
	}
	if prev := m.prevEnd[p]; !prev.IsZero() {
		m.fill += start.Sub(prev)
		m.fills++
	}
	m.prevEnd[p] = end
	for _, rec := range batch {
		o := int(rec.Offset)
		for len(m.seen[p]) <= o {
			m.seen[p] = append(m.seen[p], 0)
		}
		if m.seen[p][o] < math.MaxUint8 {
			m.seen[p][o]++
		}
	}
	m.records.Add(int64(len(batch)))
}

// waitDone polls until n events are done. The deadline is twice budget
// after the first call (or setupBy, if no call comes); it reports whether
// it was cut short by it.
func (m *meter) waitDone(ctx context.Context, n int64, setupBy time.Time, budget time.Duration) (cut bool) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for m.records.Load() < n {
		deadline := setupBy
		m.mu.Lock()
		if !m.first.IsZero() {
			deadline = m.first.Add(budget)
		}
		m.mu.Unlock()
		if time.Now().After(deadline) {
			return true
		}
		select {
		case <-ctx.Done():
			return true
		case <-tick.C:
		}
	}
	return false
}

// result sums up the case. The trigger has stopped: no call is running.
func (m *meter) result(s trigger.Stats, ready time.Time, cut bool) Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	res := Result{
		PerPartition: make([]int64, len(m.seen)),
		Invocations:  s.Invocations,
		Records:      s.Records,
		MaxBatch:     s.MaxBatch,
		Pauses:       s.Pauses,
		Cut:          cut,
	}
	for p, offsets := range m.seen {
		for _, n := range offsets {
			if n > 0 {
				res.PerPartition[p]++
				res.Done++
				res.Duplicates += int64(n - 1)
			}
		}
	}
	if !m.first.IsZero() {
		res.Elapsed = m.last.Sub(m.first)
		res.Startup = m.first.Sub(ready)
	}
	if m.fills > 0 {
		res.MeanFill = m.fill / time.Duration(m.fills)
	}
	return res
}

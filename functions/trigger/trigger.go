package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// backlogPollTimeout replaces kafkaio.GroupPollTimeout while records wait
// for a worker with a full inbox, so they reach it soon after it has room.
const backlogPollTimeout = 5 * time.Millisecond

// Trigger reads its topics in a consumer group and calls a Handler with
// batches of each partition's records. See the package doc.
type Trigger struct {
	cfg       Config
	h         Handler
	log       *slog.Logger
	group     atomic.Pointer[kafkaio.Group]
	stats     counters
	ready     chan struct{}
	readyOnce sync.Once
	started   atomic.Bool
}

// New returns a trigger that calls h; Run starts it.
func New(cfg Config, h Handler) (*Trigger, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("trigger: nil handler")
	}
	return &Trigger{
		cfg:   cfg,
		h:     h,
		log:   cfg.Log.With("function", cfg.Name, "group", cfg.Group),
		ready: make(chan struct{}),
	}, nil
}

// Ready is closed once the trigger has been assigned partitions. An
// instance in a group with more members than partitions may never be.
func (t *Trigger) Ready() <-chan struct{} { return t.ready }

// Stats returns the trigger's counters.
func (t *Trigger) Stats() Stats { return t.stats.snapshot() }

// Run consumes until ctx ends. It then lets every partition finish the call
// it is running (up to ShutdownTimeout), commits what was processed, leaves
// the group and returns nil. It returns an error if the Kafka clients cannot
// be set up; a member fenced in its group is replaced, not fatal (see
// kafkaio.Group). Run may be called once.
func (t *Trigger) Run(ctx context.Context) error {
	if !t.started.CompareAndSwap(false, true) {
		return errors.New("trigger: Run called twice")
	}
	dlq := t.cfg.DeadLetter
	if dlq == nil {
		p, err := kafkaio.NewProducer(t.cfg.Kafka, t.log)
		if err != nil {
			return fmt.Errorf("trigger %s: %w", t.cfg.Name, err)
		}
		// Deferred first, so it runs last: workers are done writing by then.
		defer p.Close()
		dlq = p
	}
	s := &session{
		t:   t,
		dlq: dlq,
		// Calls outlive Run's context by up to ShutdownTimeout (see worker.ctx),
		// but keep its values.
		ctx:   context.WithoutCancel(ctx),
		parts: map[partitionKey]*partition{},
	}
	g, err := kafkaio.NewGroup(t.groupConfig(), s)
	if err != nil {
		return fmt.Errorf("trigger %s: %w", t.cfg.Name, err)
	}
	t.group.Store(g)
	if err := g.Run(ctx); err != nil {
		return fmt.Errorf("trigger %s: %w", t.cfg.Name, err)
	}
	return nil
}

func (t *Trigger) groupConfig() kafkaio.GroupConfig {
	return kafkaio.GroupConfig{Kafka: t.cfg.Kafka, Group: t.cfg.Group, Topics: t.cfg.Topics, Log: t.log,
		Extra: kafka.ConfigMap{
			// A partition resumed after a pause joins the next fetch request,
			// which waits for the one in flight: a long poll of up to this long
			// when the other partitions are idle. librdkafka's 500 ms would
			// stall a resumed partition that long; 100 ms costs a few more empty
			// fetches while idle.
			"fetch.wait.max.ms": 100,
			// A trigger's functions are out of band, and batch anyway: the broker
			// holds a fetch until it has this much or the wait above is up, so a
			// trigger makes about ten fetches a second per broker however
			// thinly its records come, where one byte would make it fetch every
			// record on its own (measured with single bids at 250/s: the
			// platform's CPU per bid, mostly librdkafka's and the broker's,
			// fell from ~4.1 to ~3.1 ms; BENCHMARKS.md).
			"fetch.min.bytes": 256 << 10,
			// Statistics carry each partition's lag (see Lags).
			"statistics.interval.ms": lagInterval,
		}}
}

// partitionKey names a partition of one of the topics.
type partitionKey struct {
	topic     string
	partition int32
}

// partition is the consumer loop's view of an assigned partition.
type partition struct {
	w *worker
	// backlog holds records polled while the worker's inbox was full, in
	// order. A long one gets the partition paused.
	backlog []Record
	paused  bool
	// next is the offset after the last record routed: a record below it is
	// one librdkafka fetched again after a resume, and is dropped.
	next int64
}

// session is one Run: the partitions its group member owns, and the
// handler of that member (see kafkaio.Group). Only the goroutine of Run
// touches parts; the rebalance callbacks run on it too, inside the poll.
type session struct {
	t     *Trigger
	dlq   Writer
	ctx   context.Context
	parts map[partitionKey]*partition
}

var _ kafkaio.GroupHandler = (*session)(nil)

// Tick feeds backlogged records to their workers before each poll, and
// polls briefly while any are left. The poll loop routes each record to its
// partition's worker and never waits for one: a worker with a full inbox
// gets its partition paused, and the rest keep flowing.
func (s *session) Tick(ks *kafkaio.Session) time.Duration {
	if s.feed(ks) {
		return backlogPollTimeout
	}
	return 0
}

// Message routes a record to its partition's worker, or to the partition's
// backlog while the worker's inbox is full.
func (s *session) Message(ks *kafkaio.Session, m *kafka.Message) {
	key := partitionKey{*m.TopicPartition.Topic, m.TopicPartition.Partition}
	p := s.parts[key]
	offset := int64(m.TopicPartition.Offset)
	if p == nil || offset < p.next {
		// Not ours (any more), or already routed: skipping it commits
		// nothing, so whoever owns it reads it.
		return
	}
	p.next = offset + 1
	rec := Record{
		Topic:     key.topic,
		Partition: key.partition,
		Offset:    offset,
		Timestamp: m.Timestamp,
	}
	rec.Key, rec.Value, rec.Headers = m.Key, m.Value, kafkaio.FromKafkaHeaders(m.Headers)
	if len(p.backlog) == 0 {
		select {
		case p.w.in <- rec:
			return
		default:
		}
	}
	p.backlog = append(p.backlog, rec)
	// A partition whose backlog reaches Prefetch records is paused, and
	// resumed at half of it (see feed): the gap keeps it from flapping, and
	// what is left covers the resume's round trip.
	if !p.paused && len(p.backlog) >= s.t.cfg.Prefetch {
		s.pause(ks, key, p, true)
	}
}

// feed moves backlogged records into inboxes with room and resumes the
// partitions whose backlog is short again. It reports whether any backlog is
// left.
func (s *session) feed(ks *kafkaio.Session) bool {
	left := false
	for key, p := range s.parts {
		if len(p.backlog) == 0 {
			continue
		}
		n := 0
	push:
		for _, rec := range p.backlog {
			select {
			case p.w.in <- rec:
				n++
			default:
				break push
			}
		}
		p.backlog = p.backlog[n:]
		if len(p.backlog) == 0 {
			p.backlog = nil // let go of the drained array
		} else {
			left = true
		}
		if p.paused && len(p.backlog) <= s.t.cfg.Prefetch/2 {
			s.pause(ks, key, p, false)
		}
	}
	return left
}

// pause pauses (or resumes) fetching key.
func (s *session) pause(ks *kafkaio.Session, key partitionKey, p *partition, pause bool) {
	tp := kafka.TopicPartition{Topic: &key.topic, Partition: key.partition}
	var err error
	if pause {
		err = ks.Pause(tp)
	} else {
		err = ks.Resume(tp)
	}
	if err != nil {
		s.t.log.Warn("pause/resume partition", "topic", key.topic, "partition", key.partition, "pause", pause, "err", err)
		return
	}
	p.paused = pause
	if pause {
		s.t.stats.pauses.Add(1)
	}
	s.t.log.Debug("partition fetching paused while its inbox is full", "topic", key.topic,
		"partition", key.partition, "paused", pause)
}

// Assigned starts a worker for each partition new to the member, and marks
// the trigger ready once it owns any.
func (s *session) Assigned(ks *kafkaio.Session, tps []kafka.TopicPartition) {
	var added []string
	for _, tp := range tps {
		key := partitionKey{*tp.Topic, tp.Partition}
		if s.parts[key] != nil {
			continue
		}
		w := newWorker(s.ctx, s.t.cfg, s.t.h, s.dlq, &s.t.stats,
			s.t.log.With("topic", key.topic, "partition", key.partition), committer(ks, key))
		s.parts[key] = &partition{w: w, next: -1}
		go w.run()
		added = append(added, fmt.Sprintf("%s/%d", key.topic, key.partition))
	}
	s.t.stats.assigned.Store(int64(len(s.parts)))
	if len(added) > 0 {
		slices.Sort(added)
		s.t.log.Info("partitions assigned", "partitions", added)
	}
	if len(s.parts) > 0 {
		s.t.readyOnce.Do(func() { close(s.t.ready) })
	}
}

// Revoked stops the workers of tps before the partitions go: each finishes
// the call it is running and commits what is done, and only then does the
// callback return and the rebalance proceed. So the next owner starts
// exactly after the last record processed here, and nothing unprocessed is
// ever committed.
func (s *session) Revoked(ks *kafkaio.Session, tps []kafka.TopicPartition, lost bool) {
	var gone []*partition
	var names []string
	for _, tp := range tps {
		key := partitionKey{*tp.Topic, tp.Partition}
		p := s.parts[key]
		if p == nil {
			continue
		}
		delete(s.parts, key)
		if p.paused && !lost {
			// Pausing outlives the assignment in librdkafka: a partition
			// that comes back would stay paused.
			s.pause(ks, key, p, false)
		}
		gone = append(gone, p)
		names = append(names, fmt.Sprintf("%s/%d", key.topic, key.partition))
	}
	if len(gone) == 0 {
		return
	}
	s.halt(gone, lost)
	s.t.stats.assigned.Store(int64(len(s.parts)))
	slices.Sort(names)
	s.t.log.Info("partitions revoked", "partitions", names, "lost", lost)
}

// Closing stops every worker when the member stops (at shutdown, or before
// it is replaced), as a revoke would; no partition is assigned after it.
func (s *session) Closing(*kafkaio.Session) {
	ps := make([]*partition, 0, len(s.parts))
	for key, p := range s.parts {
		ps = append(ps, p)
		delete(s.parts, key)
	}
	s.halt(ps, false)
	s.t.stats.assigned.Store(0)
}

// halt stops workers in parallel: a revoke takes as long as the slowest
// running call, not as long as all of them.
func (s *session) halt(ps []*partition, lost bool) {
	for _, p := range ps {
		if lost {
			p.w.lost.Store(true)
		}
		p.w.signal()
	}
	for _, p := range ps {
		p.w.await(s.t.cfg.ShutdownTimeout)
	}
}

// committer commits offsets of one partition for its worker. librdkafka's
// consumer may be called from any goroutine.
func committer(ks *kafkaio.Session, key partitionKey) func(next int64) error {
	return func(next int64) error { return ks.CommitOffset(key.topic, key.partition, next) }
}

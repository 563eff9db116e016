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

const (
	// pollTimeout bounds how long the consumer loop waits for a record,
	// and so how quickly it notices shutdown.
	pollTimeout = 100 * time.Millisecond
	// backlogPollTimeout replaces it while records wait for a worker with
	// a full inbox, so they reach it soon after it has room.
	backlogPollTimeout = 5 * time.Millisecond
)

// Trigger reads its topics in a consumer group and calls a Handler with
// batches of each partition's records. See the package doc.
type Trigger struct {
	cfg       Config
	h         Handler
	log       *slog.Logger
	stats     counters
	lags      atomic.Pointer[[]Lag]
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
// be set up; a member fenced in its group is replaced, not fatal. Run may be
// called once.
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

	for attempt := 1; ; attempt++ {
		err := t.member(ctx, dlq)
		if !errors.Is(err, errRejoin) {
			return err
		}
		if !kafkaio.Pause(ctx, kafkaio.Reconnect(attempt)) {
			return nil
		}
	}
}

// errRejoin ends a member whose assignment was lost and not given back
// (see kafkaio.Orphaned), or that was fenced (see kafkaio.Fenced).
var errRejoin = errors.New("trigger: member to be replaced")

// member is one consumer of the trigger's group, from joining to closing.
func (t *Trigger) member(ctx context.Context, dlq Writer) error {
	m, err := kafkaio.NewMember(t.consumerConfig(), t.log)
	if err != nil {
		return fmt.Errorf("trigger %s: %w", t.cfg.Name, err)
	}
	defer m.Close()

	s := &session{
		t:    t,
		cons: m.Consumer,
		dlq:  dlq,
		// Calls outlive Run's context by up to ShutdownTimeout (see worker.ctx),
		// but keep its values.
		ctx:   context.WithoutCancel(ctx),
		parts: map[partitionKey]*partition{},
	}
	if err = m.SubscribeTopics(t.cfg.Topics, s.rebalance); err != nil {
		err = fmt.Errorf("trigger %s: subscribe to %v: %w", t.cfg.Name, t.cfg.Topics, err)
	} else {
		err = s.poll(ctx)
	}
	s.stopAll()
	return err
}

func (t *Trigger) consumerConfig() *kafka.ConfigMap {
	return t.cfg.Kafka.GroupConsumer(t.cfg.Group, kafka.ConfigMap{
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
	})
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

// session is one Run: the consumer and the partitions it owns. Only the
// goroutine of Run touches parts; the rebalance callback runs on it too,
// inside Poll.
type session struct {
	t       *Trigger
	cons    *kafka.Consumer
	dlq     Writer
	ctx     context.Context
	parts   map[partitionKey]*partition
	closing bool
	orphan  kafkaio.Orphaned
}

// poll is the consumer loop. It routes each record to its partition's
// worker and never waits for one: a worker with a full inbox gets its
// partition paused, and the rest keep flowing.
func (s *session) poll(ctx context.Context) error {
	defer s.t.lags.Store(nil)
	for ctx.Err() == nil {
		if s.orphan.Stuck(time.Now(), kafkaio.RejoinAfter) {
			s.t.log.Warn("assignment lost and not given back; joining the group again", "after", kafkaio.RejoinAfter.String())
			return errRejoin
		}
		timeout := pollTimeout
		if s.feed() {
			timeout = backlogPollTimeout
		}
		switch ev := s.cons.Poll(int(timeout / time.Millisecond)).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				s.t.log.Warn("kafka consumer", "partition", ev.TopicPartition.Partition, "err", ev.TopicPartition.Error)
				break
			}
			s.route(ev)
		case *kafka.Stats:
			s.sampleLag(ev.String())
		case kafka.Error:
			if kafkaio.Fenced(ev) {
				s.t.log.Error("fenced in the group; joining it again with a new consumer", "err", ev)
				return errRejoin
			}
			s.t.log.Warn("kafka consumer", "err", ev)
		}
	}
	return nil
}

func (s *session) route(m *kafka.Message) {
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
		s.pause(key, p, true)
	}
}

// feed moves backlogged records into inboxes with room and resumes the
// partitions whose backlog is short again. It reports whether any backlog is
// left.
func (s *session) feed() bool {
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
			s.pause(key, p, false)
		}
	}
	return left
}

// pause pauses (or resumes) fetching key.
func (s *session) pause(key partitionKey, p *partition, pause bool) {
	tps := []kafka.TopicPartition{{Topic: &key.topic, Partition: key.partition}}
	var err error
	if pause {
		err = s.cons.Pause(tps)
	} else {
		err = s.cons.Resume(tps)
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

// rebalance is the consumer's rebalance callback. It leaves the (incremental)
// assignment itself to confluent-kafka-go, which applies it when this returns.
func (s *session) rebalance(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		s.orphan.Assigned()
		s.assign(e.Partitions)
	case kafka.RevokedPartitions:
		lost := c.AssignmentLost()
		if lost {
			s.orphan.Lost(time.Now())
		}
		s.revoke(e.Partitions, lost)
	}
	return nil
}

func (s *session) assign(tps []kafka.TopicPartition) {
	if s.closing {
		return
	}
	var added []string
	for _, tp := range tps {
		key := partitionKey{*tp.Topic, tp.Partition}
		if s.parts[key] != nil {
			continue
		}
		w := newWorker(s.ctx, s.t.cfg, s.t.h, s.dlq, &s.t.stats,
			s.t.log.With("topic", key.topic, "partition", key.partition), s.committer(key))
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

// revoke stops the workers of tps before the partitions go: each finishes
// the call it is running and commits what is done, and only then does the
// callback return and the rebalance proceed. So the next owner starts
// exactly after the last record processed here, and nothing unprocessed is
// ever committed.
func (s *session) revoke(tps []kafka.TopicPartition, lost bool) {
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
			s.pause(key, p, false)
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

// stopAll stops every worker at shutdown, as a revoke would.
func (s *session) stopAll() {
	s.closing = true
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
func (s *session) committer(key partitionKey) func(next int64) error {
	topic := key.topic
	return func(next int64) error {
		done, err := s.cons.CommitOffsets([]kafka.TopicPartition{
			{Topic: &topic, Partition: key.partition, Offset: kafka.Offset(next)},
		})
		if err != nil {
			return fmt.Errorf("commit %s/%d at %d: %w", topic, key.partition, next, err)
		}
		for _, tp := range done {
			if tp.Error != nil {
				return fmt.Errorf("commit %s/%d at %d: %w", topic, key.partition, next, tp.Error)
			}
		}
		return nil
	}
}

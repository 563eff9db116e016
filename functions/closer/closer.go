package closer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Group is the consumer group closer instances share unless configured
// otherwise; it also names the closer in dead-letter records.
const Group = "auction-closer"

// Source is the CloudEvents source of the close-dues the closer writes.
const Source = schemas.Source + "/functions/closer"

// DefaultGrace is a grace period for main to offer: the edge's default
// delivery timeout, the longest a bid stamped before endsAt may take to be
// written to auction.bids.
const DefaultGrace = 10 * time.Second

const (
	// commitInterval spaces commits: one round trip per record read would
	// cost more than re-reading a second's worth of records after a crash.
	commitInterval = time.Second
	// maxBatch bounds one write of close-dues, so that a backlog of
	// past items (after downtime) goes out in several acknowledged steps.
	maxBatch = 500
	// maxBackoff caps the wait between retries of a failed write.
	maxBackoff = 5 * time.Second
)

// Config wires a closer instance.
type Config struct {
	Kafka kafkaio.Config
	// Grace is how long after endsAt an auction closes: the time a bid
	// stamped just before endsAt may still take to reach the processor. Zero
	// closes at endsAt; negative is an error.
	Grace time.Duration
	// Group is the consumer group (default Group). Instances of one group
	// split the partitions of auction.items between them.
	Group string
	// Log defaults to discarding.
	Log *slog.Logger
	// Now is the clock that decides when an item is due and stamps the
	// close-dues (default time.Now). Timers run on real time, so a clock
	// passed here must advance with it.
	Now func() time.Time
}

// Closer is one instance of the closer function.
type Closer struct {
	cfg       Config
	log       *slog.Logger
	sched     *schedule
	ready     chan struct{}
	readyOnce sync.Once
	started   atomic.Bool
}

// New checks cfg and builds a closer; Run starts it.
func New(cfg Config) (*Closer, error) {
	if len(cfg.Kafka.Brokers) == 0 {
		return nil, errors.New("closer: no Kafka brokers configured")
	}
	if cfg.Grace < 0 {
		return nil, fmt.Errorf("closer: negative grace period %s", cfg.Grace)
	}
	if cfg.Group == "" {
		cfg.Group = Group
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Compiled once per process, shared by every reader of its events.
	if _, err := schemas.SharedValidator(); err != nil {
		return nil, fmt.Errorf("closer: %w", err)
	}
	return &Closer{
		cfg:   cfg,
		log:   cfg.Log.With("component", "closer", "group", cfg.Group),
		sched: newSchedule(),
		ready: make(chan struct{}),
	}, nil
}

// Ready is closed once the instance has been assigned partitions. An
// instance in a group with more members than partitions may never be.
func (c *Closer) Ready() <-chan struct{} { return c.ready }

// Pending is the number of items read whose close-due is not yet
// acknowledged: the open auctions this instance is waiting to close.
func (c *Closer) Pending() int { return c.sched.pendingCount() }

// Run reads auction.items and writes close-dues until ctx ends, then commits
// its low watermarks, leaves the group and returns nil. It returns an error
// if the Kafka clients cannot be set up; a member fenced in its group is
// replaced, not fatal. Run may be called once.
func (c *Closer) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("closer: Run called twice")
	}
	prod, err := kafkaio.NewProducer(c.cfg.Kafka, c.log)
	if err != nil {
		return fmt.Errorf("closer: %w", err)
	}
	// Deferred first, so it runs last: the consumer's close may still
	// commit, but never writes.
	defer prod.Close()

	// The emitter outlives the consumer: a consumer that is replaced (see
	// kafkaio.Group) hands its partitions back, and the schedule with them.
	emitCtx, stopEmitting := context.WithCancel(ctx)
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		c.emit(emitCtx, prod)
	}()
	defer func() {
		stopEmitting()
		<-emitted
	}()
	g, err := kafkaio.NewGroup(kafkaio.GroupConfig{
		Kafka: c.cfg.Kafka, Group: c.cfg.Group, Topics: []string{schemas.TopicItems}, Log: c.log,
	}, &member{c: c, ctx: ctx, prod: prod})
	if err != nil {
		return fmt.Errorf("closer: %w", err)
	}
	if err := g.Run(ctx); err != nil {
		return fmt.Errorf("closer: %w", err)
	}
	return nil
}

// member is the handler of the closer's group member (see kafkaio.Group): it
// reads auction.items into the schedule, dead-letters what it cannot read,
// and commits moved low watermarks (never what librdkafka has read up to).
// The schedule outlives a member that is replaced: it hands its partitions
// back, and the schedule's with them.
type member struct {
	c          *Closer
	ctx        context.Context
	prod       *kafkaio.Producer
	lastCommit time.Time
}

var _ kafkaio.GroupHandler = (*member)(nil)

// Message schedules the item in m, or dead-letters m.
func (m *member) Message(_ *kafkaio.Session, km *kafka.Message) {
	// A read fails only when shutdown interrupts it; the record stays
	// unconsumed and is read again by the next owner.
	_ = m.c.read(m.ctx, m.prod, km)
}

// Tick commits the watermarks that moved, once every commitInterval.
func (m *member) Tick(s *kafkaio.Session) time.Duration {
	if now := time.Now(); now.Sub(m.lastCommit) >= commitInterval {
		m.c.commit(s)
		m.lastCommit = now
	}
	return 0
}

// Closing commits the final watermarks. Entries whose writes were cut
// short stay unacknowledged, so the watermarks keep them for whoever reads
// the partitions next.
func (m *member) Closing(s *kafkaio.Session) { m.c.commit(s) }

// Assigned adds the partitions to the schedule.
func (m *member) Assigned(_ *kafkaio.Session, tps []kafka.TopicPartition) {
	c := m.c
	ids := partitionIDs(tps)
	c.sched.assign(ids)
	c.log.Info("partitions assigned", "topic", schemas.TopicItems, "partitions", ids)
	if len(ids) > 0 {
		c.readyOnce.Do(func() { close(c.ready) })
	}
}

// Revoked drops the partitions from the schedule, committing their
// watermarks first unless they were lost.
func (m *member) Revoked(s *kafkaio.Session, tps []kafka.TopicPartition, lost bool) {
	c := m.c
	ids := partitionIDs(tps)
	marks := c.sched.revoke(ids)
	// A lost assignment already belongs to someone else; a commit would
	// be refused, and must not overwrite the new owner's anyway.
	if !lost {
		c.commitOffsets(s, marks)
	}
	c.log.Info("partitions revoked", "topic", schemas.TopicItems, "partitions", ids, "lost", lost)
}

// read schedules the item in m, or dead-letters m. It fails only when ctx
// ends before a dead-letter write is acknowledged.
func (c *Closer) read(ctx context.Context, prod *kafkaio.Producer, m *kafka.Message) error {
	if err := m.TopicPartition.Error; err != nil {
		c.log.Warn("kafka consumer", "partition", m.TopicPartition.Partition, "err", err)
		return nil
	}
	msg := cekafka.Message{Key: m.Key, Value: m.Value, Headers: kafkaio.FromKafkaHeaders(m.Headers)}
	part, offset := m.TopicPartition.Partition, int64(m.TopicPartition.Offset)
	cause, itemID, endsAt, extended, err := c.decode(msg)
	if err != nil {
		if err := c.deadLetter(ctx, prod, msg, part, offset, err); err != nil {
			return err
		}
		c.sched.skip(part, offset)
		return nil
	}
	e := &entry{itemID: itemID, endsAt: endsAt, closeAt: endsAt.Add(c.cfg.Grace), extended: extended,
		cause: cause, placed: telemetry.SpanContextOf(msg.Headers), offset: offset}
	if c.sched.add(part, e) {
		c.log.Debug("scheduled close", "item", itemID, "closeAt", e.closeAt,
			"partition", part, "offset", offset)
	}
	return nil
}

// decode returns the end that msg gives an auction (an item placed, or a
// soft close extension of one) and the id of its event, or why there is
// none. It reads msg as the processor does (schemas.Read), so that the two
// agree on which auctions exist: an item the processor refuses has no
// auction to close. An extension is one more close-due to write, at the
// new end: the processor ignores the close-due of an end the auction no
// longer has.
func (c *Closer) decode(msg cekafka.Message) (cause, itemID string, endsAt time.Time, extended bool, err error) {
	r, err := schemas.Read(schemas.TopicItems, msg)
	if err != nil {
		return "", "", time.Time{}, false, err
	}
	switch d := r.Data.(type) {
	case *schemas.ItemPlaced:
		return r.Event.ID(), d.ItemID, d.EndsAt, false, nil
	case *schemas.ItemExtended:
		return r.Event.ID(), d.ItemID, d.EndsAt, true, nil
	}
	return "", "", time.Time{}, false, fmt.Errorf("event %s: type %q is not an input of the closer", r.Event.ID(), r.Event.Type())
}

// deadLetter writes msg to auction.dead-letter with its origin, retrying
// until the write is acknowledged or ctx ends: the record is skipped only
// once it is safe elsewhere.
func (c *Closer) deadLetter(ctx context.Context, prod *kafkaio.Producer, msg cekafka.Message,
	part int32, offset int64, cause error) error {
	c.log.Warn("dead-lettering record", "topic", schemas.TopicItems, "partition", part,
		"offset", offset, "err", cause)
	rec := kafkaio.DeadLetter(msg, schemas.DeadLetter{
		Topic: schemas.TopicItems, Partition: part, Offset: offset, Error: cause.Error(),
		Attempts: 1, Consumer: c.cfg.Group, At: c.cfg.Now(),
	})
	retry := func(attempt int) bool { return kafkaio.Pause(ctx, backoff(attempt)) }
	return kafkaio.WriteDeadLetter(ctx, prod, rec, retry, c.log)
}

// emit is the emitter loop: it sleeps on one timer until the earliest
// closeAt, or until an earlier item arrives, and writes what is due.
func (c *Closer) emit(ctx context.Context, prod *kafkaio.Producer) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if due := c.sched.popDue(c.cfg.Now(), maxBatch); len(due) > 0 {
			c.publish(ctx, prod, due)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var fire <-chan time.Time
		if wait, ok := c.sched.arm(c.cfg.Now()); ok {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-c.sched.wake:
		case <-fire:
		}
		timer.Stop()
	}
}

// publish writes the close-dues of due and waits for the broker's
// acknowledgement, retrying until it comes or ctx ends. A write that fails
// may still have happened; retrying then only repeats a close-due.
func (c *Closer) publish(ctx context.Context, prod *kafkaio.Producer, due []*entry) {
	// Closing is a trace of its own, linked to the placement of every item
	// it closes: it happens long after, caused by time.
	links := make([]trace.Link, 0, len(due))
	for _, e := range due {
		if e.placed.IsValid() {
			links = append(links, trace.Link{SpanContext: e.placed})
		}
	}
	ctx, span := telemetry.Tracer().Start(ctx, "close due auctions", trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("auction.items", len(due))))
	defer span.End()
	now := c.cfg.Now()
	ready := due[:0:0]
	for _, e := range due {
		ev, err := schemas.NewEvent(schemas.TypeCloseDue, schemas.Meta{
			ID: e.closeDueID(), Source: Source, Subject: e.itemID, Time: now, CausationID: e.cause,
		}, schemas.CloseDue{ItemID: e.itemID, EndsAt: e.endsAt, CloseAt: e.closeAt})
		if err != nil {
			// decode refuses items without an id, the only thing that makes
			// this fail; holding the watermark back forever would not help.
			c.log.Error("build close-due", "item", e.itemID, "err", err)
			c.sched.ack([]*entry{e})
			continue
		}
		e.event = ev
		ready = append(ready, e)
	}
	for attempt := 1; len(ready) > 0; attempt++ {
		events := make([]event.Event, len(ready))
		for i, e := range ready {
			events[i] = e.event
		}
		err := prod.PublishEvents(ctx, schemas.TopicBids, events...)
		if err == nil {
			c.sched.ack(ready)
			c.logEmitted(ready, now)
			return
		}
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("close-due write failed; retrying", "items", len(ready), "attempt", attempt, "err", err)
		if !kafkaio.Pause(ctx, backoff(attempt)) {
			return
		}
		// Partitions revoked meanwhile are their new owner's to close.
		ready = c.sched.owned(ready)
	}
}

func (c *Closer) logEmitted(es []*entry, now time.Time) {
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	for _, e := range es {
		c.log.Debug("close-due written", "item", e.itemID, "closeAt", e.closeAt, "late", now.Sub(e.closeAt))
	}
}

// commit commits the low watermarks that moved since their last commit.
func (c *Closer) commit(s *kafkaio.Session) {
	c.commitOffsets(s, c.sched.uncommitted())
}

func (c *Closer) commitOffsets(s *kafkaio.Session, marks map[int32]int64) {
	if len(marks) == 0 {
		return
	}
	topic := schemas.TopicItems
	tps := make([]kafka.TopicPartition, 0, len(marks))
	for id, off := range marks {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: id, Offset: kafka.Offset(off)})
	}
	done, err := s.Commit(tps...)
	if err != nil {
		// The watermarks stay uncommitted and are tried again; until then
		// a restart reads a little more again, and loses nothing.
		level := slog.LevelWarn
		if kafkaio.DuringRebalance(err) {
			level = slog.LevelDebug // expected; the next commit goes to the new generation
		}
		c.log.Log(context.Background(), level, "commit offsets", "topic", topic, "err", err)
		return
	}
	for _, tp := range done {
		if tp.Error != nil {
			c.log.Warn("commit offset", "topic", topic, "partition", tp.Partition, "err", tp.Error)
			continue
		}
		c.sched.committed(tp.Partition, int64(tp.Offset))
		c.log.Debug("committed low watermark", "partition", tp.Partition, "offset", int64(tp.Offset))
	}
}

func partitionIDs(tps []kafka.TopicPartition) []int32 {
	ids := make([]int32, 0, len(tps))
	for _, tp := range tps {
		if tp.Topic != nil && *tp.Topic == schemas.TopicItems {
			ids = append(ids, tp.Partition)
		}
	}
	slices.Sort(ids)
	return ids
}

// backoff is the wait before retry attempt+1: 100 ms, doubling, capped.
func backoff(attempt int) time.Duration {
	return kafkaio.Backoff(attempt, 100*time.Millisecond, maxBackoff)
}

package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// GroupPollTimeout is how long a Group's poll waits for an event when its
// handler's Tick does not say otherwise, and so how quickly it notices
// shutdown.
const GroupPollTimeout = 100 * time.Millisecond

// GroupConfig names what a Group consumes.
type GroupConfig struct {
	Kafka Config
	// Group is the consumer group; Topics what it subscribes to.
	Group  string
	Topics []string
	// Extra adds librdkafka settings to GroupConsumer's (fetch sizes, and
	// statistics.interval.ms for Lags).
	Extra kafka.ConfigMap
	// Log defaults to discarding.
	Log *slog.Logger
}

// GroupHandler is what a Group calls. Every call is made on the goroutine of
// Run, one at a time: Assigned and Revoked from inside the poll (the
// rebalance proceeds when they return), Message and Tick from the poll loop.
// Session's methods may also be called from other goroutines.
type GroupHandler interface {
	// Assigned is called with partitions added to the member's assignment.
	Assigned(s *Session, tps []kafka.TopicPartition)
	// Revoked is called with partitions taken from it. lost means they were
	// taken without a revoke (the session expired): they belong to another
	// member already, which a commit must not overwrite.
	Revoked(s *Session, tps []kafka.TopicPartition, lost bool)
	// Message is called with each record polled, in order per partition.
	Message(s *Session, m *kafka.Message)
	// Tick is called before every poll and returns how long the poll may
	// wait for the next event (zero: GroupPollTimeout). Periodic work (a
	// commit, feeding records held back) goes here.
	Tick(s *Session) time.Duration
	// Closing is called once when a member stops consuming, at shutdown or
	// before it is replaced, while its consumer is still open (last
	// commits). No Assigned follows it; the close may still revoke.
	Closing(s *Session)
}

// Group is a consumer group member that looks after its own life-cycle: it
// joins with GroupConsumer's settings, polls, logs partition errors, and
// when librdkafka leaves it fenced (see Fenced) or orphaned (see Orphaned)
// it closes the consumer and joins again with a new one after Reconnect.
// The handler sees one Session per consumer.
type Group struct {
	cfg     GroupConfig
	h       GroupHandler
	log     *slog.Logger
	lags    atomic.Pointer[[]Lag]
	started atomic.Bool
	orphan  Orphaned
}

// NewGroup returns a member of cfg.Group that calls h; Run starts it.
func NewGroup(cfg GroupConfig, h GroupHandler) (*Group, error) {
	switch {
	case len(cfg.Kafka.Brokers) == 0:
		return nil, errors.New("kafka group: no brokers configured")
	case cfg.Group == "":
		return nil, errors.New("kafka group: no group id")
	case len(cfg.Topics) == 0:
		return nil, fmt.Errorf("kafka group %s: no topics", cfg.Group)
	case h == nil:
		return nil, fmt.Errorf("kafka group %s: nil handler", cfg.Group)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Group{cfg: cfg, h: h, log: cfg.Log}, nil
}

// Lags returns the lag of each partition the member owns, as of librdkafka's
// latest statistics, sorted by topic and partition; nothing while Run is not
// consuming or when cfg.Extra does not set statistics.interval.ms.
func (g *Group) Lags() []Lag {
	if l := g.lags.Load(); l != nil {
		return slices.Clone(*l)
	}
	return nil
}

// Run consumes until ctx ends, then closes the member (Closing, then a
// bounded close: see Member.Close) and returns nil. It returns an error if
// a consumer cannot be created or subscribed; a fenced or orphaned member
// is replaced, not fatal. Run may be called once.
func (g *Group) Run(ctx context.Context) error {
	if !g.started.CompareAndSwap(false, true) {
		return fmt.Errorf("kafka group %s: Run called twice", g.cfg.Group)
	}
	for attempt := 1; ; attempt++ {
		err := g.member(ctx)
		if !errors.Is(err, errRejoin) {
			return err
		}
		if !Pause(ctx, Reconnect(attempt)) {
			return nil
		}
	}
}

// errRejoin ends a member to be replaced by a new consumer.
var errRejoin = errors.New("member to be replaced")

// member is one consumer of the group, from joining to closing.
func (g *Group) member(ctx context.Context) error {
	m, err := NewMember(g.cfg.Kafka.GroupConsumer(g.cfg.Group, g.cfg.Extra), g.log)
	if err != nil {
		return fmt.Errorf("kafka group %s: %w", g.cfg.Group, err)
	}
	defer m.Close()
	g.orphan.Reset()
	s := &Session{g: g, c: m.Consumer, owned: map[partitionKey]bool{}}
	if err := m.SubscribeTopics(g.cfg.Topics, s.rebalance); err != nil {
		return fmt.Errorf("kafka group %s: subscribe to %v: %w", g.cfg.Group, g.cfg.Topics, err)
	}
	err = s.poll(ctx)
	s.closing = true
	g.h.Closing(s)
	g.lags.Store(nil)
	return err
}

// Session is one consumer of a Group: what a handler pauses, resumes and
// commits through.
type Session struct {
	g *Group
	c *kafka.Consumer
	// owned is the assignment, for Lags; closing is set once Closing is
	// called. Only Run's goroutine touches them.
	owned   map[partitionKey]bool
	closing bool
}

// partitionKey names a partition of one of the topics.
type partitionKey struct {
	topic     string
	partition int32
}

// poll is the consumer loop.
func (s *Session) poll(ctx context.Context) error {
	g := s.g
	for ctx.Err() == nil {
		if g.orphan.Stuck(time.Now(), RejoinAfter) {
			g.log.Warn("assignment lost and not given back; joining the group again", "after", RejoinAfter.String())
			return errRejoin
		}
		timeout := g.h.Tick(s)
		if timeout <= 0 {
			timeout = GroupPollTimeout
		}
		switch ev := s.c.Poll(int(timeout / time.Millisecond)).(type) {
		case *kafka.Message:
			if err := ev.TopicPartition.Error; err != nil {
				g.log.Warn("kafka consumer", "topic", topicOf(ev.TopicPartition), "partition", ev.TopicPartition.Partition, "err", err)
				break
			}
			g.h.Message(s, ev)
		case *kafka.Stats:
			s.sampleLag(ev.String())
		case kafka.Error:
			if Fenced(ev) {
				g.log.Error("fenced in the group; joining it again with a new consumer", "err", ev)
				return errRejoin
			}
			g.log.Warn("kafka consumer", "err", ev)
		}
	}
	return nil
}

func topicOf(tp kafka.TopicPartition) string {
	if tp.Topic == nil {
		return ""
	}
	return *tp.Topic
}

// rebalance is the consumer's rebalance callback. It leaves the (incremental,
// cooperative-sticky) assignment itself to confluent-kafka-go, which applies
// it when this returns.
func (s *Session) rebalance(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		if s.closing {
			return nil
		}
		s.g.orphan.Assigned()
		for _, tp := range e.Partitions {
			s.owned[partitionKey{topicOf(tp), tp.Partition}] = true
		}
		s.g.h.Assigned(s, e.Partitions)
	case kafka.RevokedPartitions:
		lost := c.AssignmentLost()
		if lost {
			s.g.orphan.Lost(time.Now())
		}
		for _, tp := range e.Partitions {
			delete(s.owned, partitionKey{topicOf(tp), tp.Partition})
		}
		s.g.h.Revoked(s, e.Partitions, lost)
	}
	return nil
}

// Pause stops fetching tps until Resume. Pausing outlives the assignment in
// librdkafka: a partition revoked while paused comes back paused unless it
// is resumed before it goes.
func (s *Session) Pause(tps ...kafka.TopicPartition) error { return s.c.Pause(tps) }

// Resume fetches tps again.
func (s *Session) Resume(tps ...kafka.TopicPartition) error { return s.c.Resume(tps) }

// Commit commits tps (each Offset the next record to read) as the group's
// offsets, and returns them as the broker answered, each with its own
// Error. An error of the call as a whole may be one a rebalance causes (see
// DuringRebalance); the offsets are then tried again by the next commit.
func (s *Session) Commit(tps ...kafka.TopicPartition) ([]kafka.TopicPartition, error) {
	return s.c.CommitOffsets(tps)
}

// CommitOffset commits next as the group's offset of one partition, and
// fails if the call or the partition's commit does.
func (s *Session) CommitOffset(topic string, partition int32, next int64) error {
	done, err := s.c.CommitOffsets([]kafka.TopicPartition{
		{Topic: &topic, Partition: partition, Offset: kafka.Offset(next)},
	})
	if err != nil {
		return fmt.Errorf("commit %s/%d at %d: %w", topic, partition, next, err)
	}
	for _, tp := range done {
		if tp.Error != nil {
			return fmt.Errorf("commit %s/%d at %d: %w", topic, partition, next, tp.Error)
		}
	}
	return nil
}

// DuringRebalance reports whether a commit failed only because the group
// was rebalancing: expected, and covered by the next commit, which goes to
// the new generation.
func DuringRebalance(err error) bool {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr.Code() {
	case kafka.ErrRebalanceInProgress, kafka.ErrIllegalGeneration:
		return true
	}
	return false
}

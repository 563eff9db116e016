package kafkaio

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Group membership timings every consumer group of the platform uses: the
// librdkafka members (Group: triggers, closer) here, goka's processor in
// GokaConfig.
const (
	// sessionTimeoutMs is how long a member that stopped heartbeating (a
	// SIGKILLed process) keeps its partitions. librdkafka's 45 s left a
	// restarted closer or function idle for ~40 s; 10 s is well above a GC
	// pause or a busy machine's hiccup, and Kafka's minimum is 6 s.
	sessionTimeoutMs = 10000
	// heartbeatIntervalMs is how soon a member notices a rebalance.
	heartbeatIntervalMs = 1000
)

// GroupConsumer is the librdkafka configuration of a member of consumer
// group: the settings every group of the flow needs, in one place, plus
// extra (which may add to them, never remove one).
//
//   - it starts from the earliest offset when the group has none: the
//     default (latest) silently skips everything written before the group
//     first joined;
//   - it never commits on its own: offsets are committed by the consumer
//     once a record is done with (a function succeeded, a close-due is
//     acknowledged), never for what librdkafka merely fetched;
//   - cooperative-sticky assignment: a rebalance moves only the partitions
//     that change owner, the others keep running through it;
//   - with InstanceID set it is a static member (KIP-345): a replica that
//     restarts within the session timeout takes its partitions back
//     without a rebalance, instead of waiting for its old self to expire;
//   - librdkafka's logs come on the Logs channel (see ForwardLogs).
func (c Config) GroupConsumer(group string, extra kafka.ConfigMap) *kafka.ConfigMap {
	m := kafka.ConfigMap{
		"group.id":                      group,
		"auto.offset.reset":             "earliest",
		"enable.auto.commit":            false,
		"enable.auto.offset.store":      false,
		"partition.assignment.strategy": "cooperative-sticky",
		"session.timeout.ms":            sessionTimeoutMs,
		"heartbeat.interval.ms":         heartbeatIntervalMs,
		"go.logs.channel.enable":        true,
	}
	if c.InstanceID != "" {
		m["group.instance.id"] = c.InstanceID
	}
	for k, v := range extra {
		m[k] = v
	}
	return c.configMap(m)
}

// Reconnect is the wait before attempt (from 1) to reach a cluster that did
// not answer: 200 ms, doubling, at most 2 s, so a client resumes within
// about 2 s of its broker coming back.
func Reconnect(attempt int) time.Duration {
	return Backoff(attempt, 200*time.Millisecond, 2*time.Second)
}

// Backoff is the wait before retry number attempt (from 1): first, doubling
// with each further attempt, capped at most. Every retry loop of the
// platform's Kafka clients waits by it (a function's failing record, a
// dead-letter or close-due write, a member rejoining), so their pacing is
// read in one place.
func Backoff(attempt int, first, most time.Duration) time.Duration {
	d := first
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// Pause waits d (a backoff: Reconnect before a group member's replacement
// joins, see Fenced and Orphaned; a retry's wait), or less if ctx ends
// first; it reports whether ctx is still live.
func Pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Fenced reports whether e, polled from a group member, means the member
// must be replaced by a new consumer. librdkafka raises fatal consumer
// errors only for a fenced static member: the coordinator gave its
// group.instance.id to another member id. After a broker restart the fault
// suite saw a member fenced by itself (its rejoin raced the old member
// id's heartbeat), and the process it ran in exited.
// A new consumer joining under the same static id takes the partitions
// back. (Two live processes given one id would take turns fencing each
// other; that is a deployment mistake, and every turn is logged.)
func Fenced(e kafka.Error) bool { return e.IsFatal() }

// Orphaned watches a group member for one state librdkafka can be left in
// after a broker restart: its assignment lost (the session expired while
// the coordinator was away) and never given back, with the consumer
// polling happily and owning nothing. The fault suite saw the closer sit
// like that with its partitions unowned, so no auction closed any more.
// A new consumer, joining afresh under the same static id, gets them back
// at once, so a member that has owned nothing for RejoinAfter since it lost
// its assignment starts a new one. The zero value is ready to use; its
// methods may be called from the rebalance callback and the poll loop.
type Orphaned struct {
	mu     sync.Mutex
	lostAt time.Time
}

// RejoinAfter is how long a member may own nothing after losing its
// assignment before it joins again with a new consumer: two session
// timeouts, time enough for any rebalance the coordinator runs.
const RejoinAfter = 2 * sessionTimeoutMs * time.Millisecond

// Lost records that the assignment was lost at now.
func (o *Orphaned) Lost(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lostAt.IsZero() {
		o.lostAt = now
	}
}

// Reset forgets a loss: a new consumer starts with nothing lost.
func (o *Orphaned) Reset() { o.Assigned() }

// Assigned records that partitions were assigned.
func (o *Orphaned) Assigned() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lostAt = time.Time{}
}

// Stuck reports whether, at now, the member has owned nothing for longer
// than after since it lost its assignment.
func (o *Orphaned) Stuck(now time.Time, after time.Duration) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.lostAt.IsZero() && now.Sub(o.lostAt) >= after
}

// Member is a librdkafka consumer, with its logs forwarded to slog at debug
// level and a close that cannot hang its caller: the consumer under each
// Group member (see GroupConsumer) and each Reader.
type Member struct {
	*kafka.Consumer
	log      *slog.Logger
	logsDone chan struct{}
}

// MemberCloseTimeout bounds Member.Close. A consumer left orphaned by a
// broker restart (see Orphaned) was seen never to finish closing, which
// kept a stopping process alive until it was killed.
const MemberCloseTimeout = 10 * time.Second

// NewMember creates a consumer from cm, which must enable the log channel
// (GroupConsumer and NewReader do).
func NewMember(cm *kafka.ConfigMap, log *slog.Logger) (*Member, error) {
	c, err := kafka.NewConsumer(cm)
	if err != nil {
		return nil, fmt.Errorf("new kafka consumer: %w", err)
	}
	m := &Member{Consumer: c, log: log, logsDone: make(chan struct{})}
	go func() {
		defer close(m.logsDone)
		for l := range c.Logs() {
			log.Debug("librdkafka", "name", l.Name, "tag", l.Tag, "level", l.Level, "msg", l.Message)
		}
	}()
	return m, nil
}

// Close leaves the group and closes the consumer, waiting at most
// MemberCloseTimeout; once it returns, nothing more is logged. A consumer
// that does not close in time is abandoned (its threads linger until the
// process ends) and its partitions go to whoever joins next.
func (m *Member) Close() {
	done := make(chan error, 1)
	go func() { done <- m.Consumer.Close() }()
	t := time.NewTimer(MemberCloseTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			m.log.Warn("close kafka consumer", "err", err)
		}
		<-m.logsDone
	case <-t.C:
		m.log.Error("kafka consumer did not close; abandoning it", "timeout", MemberCloseTimeout.String())
	}
}

package kafkaio

import (
	"context"
	"sync"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// InOrderCommits wraps b so that the consumer groups it builds commit a
// record's offset only once every record before it on its partition is
// done.
//
// goka marks a record done when all of its writes are acknowledged, and
// the writes of successive records go to different partitions, so they
// finish in any order; sarama commits the highest mark. When a record's
// table write failed (the processor stops and starts again), a later
// record's mark had already moved the commit past it: the failed record
// was never read again, and the row it changed, written to the local store
// before the table topic refused it, never reached the topic. A processor
// recovering that partition elsewhere would have found an auction open
// that had closed. In order, the failed record and everything after it are
// read again.
func InOrderCommits(b goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := b(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return orderedGroup{cg}, nil
	}
}

type orderedGroup struct{ sarama.ConsumerGroup }

func (g orderedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &orderedHandler{next: h})
}

// orderedHandler is one session's handler: goka gets the session's marks
// through an orderedSession, and each claim's records through a channel
// that notes their offsets on the way.
type orderedHandler struct {
	next sarama.ConsumerGroupHandler
	mu   sync.Mutex
	s    *orderedSession
}

func (h *orderedHandler) session(s sarama.ConsumerGroupSession) *orderedSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s == nil || h.s.ConsumerGroupSession != s {
		h.s = &orderedSession{ConsumerGroupSession: s, parts: map[orderedKey]*inOrder{}}
	}
	return h.s
}

func (h *orderedHandler) Setup(s sarama.ConsumerGroupSession) error {
	return h.next.Setup(h.session(s))
}

func (h *orderedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	return h.next.Cleanup(h.session(s))
}

func (h *orderedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	session := h.session(s)
	part := session.part(c.Topic(), c.Partition())
	msgs := make(chan *sarama.ConsumerMessage)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(msgs)
		for m := range c.Messages() {
			part.delivered(m.Offset)
			select {
			case msgs <- m:
			case <-done:
				return
			}
		}
	}()
	return h.next.ConsumeClaim(session, orderedClaim{ConsumerGroupClaim: c, msgs: msgs})
}

type orderedClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c orderedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

type orderedKey struct {
	topic     string
	partition int32
}

// orderedSession passes on a mark only when it moves the partition's
// contiguous run of done records.
type orderedSession struct {
	sarama.ConsumerGroupSession
	mu    sync.Mutex
	parts map[orderedKey]*inOrder
}

func (s *orderedSession) part(topic string, partition int32) *inOrder {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := orderedKey{topic, partition}
	p := s.parts[k]
	if p == nil {
		p = &inOrder{done: map[int64]bool{}}
		s.parts[k] = p
	}
	return p
}

// MarkOffset marks the record before offset (goka marks offset+1, the next
// one to read) done.
func (s *orderedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if next, moved := s.part(topic, partition).finish(offset - 1); moved {
		s.ConsumerGroupSession.MarkOffset(topic, partition, next, metadata)
	}
}

func (s *orderedSession) MarkMessage(m *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(m.Topic, m.Partition, m.Offset+1, metadata)
}

// inOrder is one partition's records between delivery and commit.
type inOrder struct {
	mu      sync.Mutex
	pending []int64 // delivered and not yet committable, in order
	done    map[int64]bool
}

func (o *inOrder) delivered(offset int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, offset)
}

// finish marks the record at offset done and returns the offset to commit
// (the one after the last record of the contiguous done run), if that
// moved.
func (o *inOrder) finish(offset int64) (next int64, moved bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done[offset] = true
	n := 0
	for n < len(o.pending) && o.done[o.pending[n]] {
		delete(o.done, o.pending[n])
		next, moved = o.pending[n]+1, true
		n++
	}
	if n > 0 {
		o.pending = append(o.pending[:0], o.pending[n:]...)
	}
	return next, moved
}

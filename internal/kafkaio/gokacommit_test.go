package kafkaio

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/IBM/sarama"
)

// markLog is a consumer group session that records the marks passed on.
type markLog struct {
	sarama.ConsumerGroupSession
	mu    sync.Mutex
	marks []int64
}

func (s *markLog) MarkOffset(_ string, _ int32, offset int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks = append(s.marks, offset)
}

func (s *markLog) Context() context.Context { return context.Background() }

// fakeClaim hands out the records of msgs.
type fakeClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c fakeClaim) Topic() string                            { return "in" }
func (c fakeClaim) Partition() int32                         { return 0 }
func (c fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

// finishing is a goka stand-in: it reads every record of its claim, then
// marks them done in the order given (an index into the records read).
type finishing struct {
	order []int
}

func (finishing) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (finishing) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (f finishing) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	var read []*sarama.ConsumerMessage
	for m := range c.Messages() {
		read = append(read, m)
	}
	for _, i := range f.order {
		s.MarkMessage(read[i], "")
	}
	return nil
}

// TestInOrderCommits: records finished out of order commit only what is
// done without a gap, and a record that never finishes (its write failed)
// holds the commit below it, so it is read again.
func TestInOrderCommits(t *testing.T) {
	offsets := []int64{5, 6, 8, 9, 10} // 7 is a gap in the log (a control record)
	tests := []struct {
		name  string
		order []int // indexes into offsets, the order they finish in
		want  []int64
	}{
		{"in order", []int{0, 1, 2, 3, 4}, []int64{6, 7, 9, 10, 11}},
		{"later ones first", []int{2, 3, 0, 4, 1}, []int64{6, 11}},
		{"the first never finishes", []int{1, 2, 3, 4}, nil},
		{"the third never finishes", []int{4, 0, 3, 1}, []int64{6, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			session := &markLog{}
			h := &orderedHandler{next: finishing{order: tt.order}}
			msgs := make(chan *sarama.ConsumerMessage, len(offsets))
			for _, o := range offsets {
				msgs <- &sarama.ConsumerMessage{Topic: "in", Partition: 0, Offset: o}
			}
			close(msgs)
			if err := h.Setup(session); err != nil {
				t.Fatal(err)
			}
			if err := h.ConsumeClaim(session, fakeClaim{msgs: msgs}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(session.marks, tt.want) {
				t.Fatalf("marks passed on: got %v, want %v", session.marks, tt.want)
			}
		})
	}
}

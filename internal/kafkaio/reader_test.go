package kafkaio_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// TestReader: a reader from the start reads what is on the topic already,
// one from the end only what is written after it was positioned; Read ends
// when its function says so; a missing topic is an error.
func TestReader(t *testing.T) {
	e := newGroupEnv(t, 2)
	e.write(t, 3) // values 0, 1, 2; then 3, 4, 5
	values := func(from kafkaio.From, want int, then func()) []string {
		t.Helper()
		r, err := kafkaio.NewReader(e.cfg, "reader-test", nil, e.log)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Assign(from, e.topic); err != nil {
			t.Fatal(err)
		}
		if then != nil {
			then()
		}
		ctx, cancel := context.WithTimeout(context.Background(), groupWait)
		defer cancel()
		var got []string
		err = r.Read(ctx, func(m *kafka.Message) bool {
			got = append(got, string(m.Value))
			return len(got) < want
		})
		if err != nil || len(got) < want {
			t.Fatalf("Read: got %v (%v), want %d records", got, err, want)
		}
		return got
	}
	if got := values(kafkaio.FromStart, 3, nil); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("from the start: got %v, want [0 1 2]", got)
	}
	// Written after Assign, before the first fetch: still seen.
	if got := values(kafkaio.FromEnd, 3, func() { e.write(t, 3) }); !slices.Equal(got, []string{"3", "4", "5"}) {
		t.Fatalf("from the end: got %v, want the 3 records written after Assign", got)
	}

	r, err := kafkaio.NewReader(e.cfg, "reader-test", nil, e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Assign(kafkaio.FromEnd, "no-such-topic-"+time.Now().Format("150405.000000")); err == nil {
		t.Fatal("missing topic: got no error, want one")
	}
}

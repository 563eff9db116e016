package kafkaio_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// TestPartitionAgreement proves the pitfall in the package doc is handled:
// keys written by the edge's librdkafka producer land in the partition where
// goka looks for them. It writes keys with kafkaio.Producer, then asks a goka
// view (goka's own hashing, not a copy of it) for each key: a view only
// searches the partition its hasher picks, so a misplaced key reads as nil.
func TestPartitionAgreement(t *testing.T) {
	const keys = 10_000
	brokers := kafkatest.Cluster(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, partitions := range []int{3, 7, 12} {
		t.Run(fmt.Sprintf("%d partitions", partitions), func(t *testing.T) {
			topic := fmt.Sprintf("agreement-%d-%d-table", partitions, time.Now().UnixNano())
			kafkatest.CreateTopic(t, brokers, topic, partitions, map[string]string{"cleanup.policy": "compact"})
			cfg := kafkatest.Config(brokers, partitions)

			p, err := kafkaio.NewProducer(cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			for start := 0; start < keys; start += 1000 {
				recs := make([]kafkaio.Record, 0, 1000)
				for i := start; i < start+1000; i++ {
					k := keyOf(i)
					recs = append(recs, kafkaio.Record{Topic: topic, Message: cekafka.Message{Key: []byte(k), Value: []byte(k)}})
				}
				if err := p.Write(ctx, recs...); err != nil {
					t.Fatalf("write keys: %v", err)
				}
			}

			sc := cfg.GokaConfig(0)
			view, err := goka.NewView(brokers, goka.Table(topic), new(codec.String),
				goka.WithViewStorageBuilder(storage.MemoryBuilder()),
				goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
				goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, cfg.GokaTopicManager())),
				goka.WithViewLogger(kafkaio.GokaLogger(log)),
			)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- view.Run(ctx) }()
			defer func() { cancel(); <-done }()
			// Recovered means every partition was read to its end.
			deadline := time.Now().Add(time.Minute)
			for !view.Recovered() {
				if time.Now().After(deadline) {
					t.Fatal("view did not recover within a minute")
				}
				select {
				case err := <-done:
					t.Fatalf("view stopped: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}

			misplaced := 0
			for i := range keys {
				v, err := view.Get(keyOf(i))
				if err != nil {
					t.Fatalf("get %s: %v", keyOf(i), err)
				}
				if v != keyOf(i) {
					misplaced++
				}
			}
			if misplaced != 0 {
				t.Fatalf("got %d of %d keys outside goka's partition, want 0", misplaced, keys)
			}
		})
	}
}

// keyOf spreads keys like real item ids would (UUID-like, varied length).
func keyOf(i int) string { return fmt.Sprintf("item-%08x-%d", i*2654435761, i) }

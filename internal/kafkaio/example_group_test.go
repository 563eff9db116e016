package kafkaio_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// printer is the smallest useful GroupHandler: it logs each record and
// commits past it. Joining, rebalances and replacing a fenced member are
// the Group's; the handler only says what a record means and when it is
// done with.
type printer struct{ log *slog.Logger }

func (p printer) Assigned(_ *kafkaio.Session, tps []kafka.TopicPartition) {
	p.log.Info("assigned", "partitions", len(tps))
}

func (p printer) Revoked(_ *kafkaio.Session, tps []kafka.TopicPartition, lost bool) {
	p.log.Info("revoked", "partitions", len(tps), "lost", lost)
}

func (p printer) Message(s *kafkaio.Session, m *kafka.Message) {
	p.log.Info("record", "key", string(m.Key), "offset", int64(m.TopicPartition.Offset))
	if err := s.CommitOffset(*m.TopicPartition.Topic, m.TopicPartition.Partition, int64(m.TopicPartition.Offset)+1); err != nil {
		p.log.Warn("commit", "err", err)
	}
}

func (printer) Tick(*kafkaio.Session) time.Duration { return 0 }

func (printer) Closing(*kafkaio.Session) {}

// A member of a consumer group that reads auction.items from the group's
// committed offsets (the earliest for a new group) until its context ends.
func ExampleGroup() {
	log := slog.Default()
	g, err := kafkaio.NewGroup(kafkaio.GroupConfig{
		Kafka:  kafkaio.Config{Brokers: []string{"localhost:9092"}, ClientID: "example"},
		Group:  "example-printer",
		Topics: []string{"auction.items"},
		Log:    log,
	}, printer{log})
	if err != nil {
		log.Error("group", "err", err)
		return
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := g.Run(ctx); err != nil {
		log.Error("run", "err", err)
	}
}

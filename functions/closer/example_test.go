package closer_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/auctionflow/auction/functions/closer"
	"github.com/auctionflow/auction/internal/kafkaio"
)

// This is how main runs a closer: one per process, as many processes as
// needed (they share the partitions of auction.items), each stopped by a
// signal so that it commits its low watermarks on the way out.
func Example() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	c, err := closer.New(closer.Config{
		Kafka: kafkaio.Config{Brokers: []string{"localhost:9092"}, ClientID: "closer", Partitions: 6, Replication: 1},
		Grace: closer.DefaultGrace,
		Log:   log,
	})
	if err != nil {
		log.Error("closer", "err", err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := c.Run(ctx); err != nil {
		log.Error("closer", "err", err)
	}
}

package main

import (
	"context"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/streams/auction"
)

// lagTimeout bounds how long a scrape waits for the processor's statistics.
const lagTimeout = 2 * time.Second

// observeTrigger lets the metrics read a Kafka trigger's counters, under the
// function's name, and its lag, under its consumer group, at every scrape.
func observeTrigger(m *metrics.Metrics, name, group string, t *trigger.Trigger) {
	m.Trigger(name, t.Stats)
	m.ConsumerLag(group, t.Lags)
}

// observeProcessor lets the metrics read the auction processor's lag on its
// input partitions at every scrape.
func observeProcessor(m *metrics.Metrics, p *auction.Processor) {
	m.ConsumerLag(string(auction.Group), func() []metrics.PartitionLag {
		ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
		defer cancel()
		return p.Lags(ctx)
	})
}

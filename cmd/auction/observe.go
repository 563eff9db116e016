package main

import (
	"context"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/streams/auction"
)

// The metrics are what the processor reports to; the processor declares
// what it reports and the metrics keep to it.
var _ auction.Observer = (*metrics.Metrics)(nil)

// lagTimeout bounds how long a scrape waits for the processor's statistics.
const lagTimeout = 2 * time.Second

// observeTrigger lets the metrics read a Kafka trigger's counters, under the
// function's name, and its lag, under its consumer group, at every scrape.
func observeTrigger(m *metrics.Metrics, name, group string, t *trigger.Trigger) {
	m.Trigger(name, func() metrics.TriggerStats { return triggerStats(t.Stats()) })
	m.ConsumerLag(group, t.Lags)
}

// triggerStats is a trigger's statistics as the metrics take them: the
// histograms with their buckets' bounds (in records and in seconds).
func triggerStats(s trigger.Stats) metrics.TriggerStats {
	sizes := metrics.Histogram{Counts: s.BatchSizes[:], Sum: float64(s.Records)}
	for i := range len(s.BatchSizes) - 1 {
		sizes.Bounds = append(sizes.Bounds, float64(trigger.SizeBound(i)))
	}
	calls := metrics.Histogram{Counts: s.CallDurations[:], Sum: s.CallTime.Seconds()}
	for i := range len(s.CallDurations) - 1 {
		calls.Bounds = append(calls.Bounds, trigger.DurationBound(i).Seconds())
	}
	return metrics.TriggerStats{
		Assigned: s.Assigned, Batches: s.Batches, Invocations: s.Invocations, Records: s.Records,
		Processed: s.Processed, DeadLettered: s.DeadLettered, Splits: s.Splits, Retries: s.Retries,
		Pauses: s.Pauses, CommitErrors: s.CommitErrors, BatchSizes: sizes, CallDurations: calls,
	}
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

package metrics

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auctionflow/auction/functions/trigger"
)

// Trigger reports a Kafka trigger's counters under function: stats is
// called at every scrape (trigger.Trigger.Stats is cheap: atomic loads).
// A second trigger under the same function replaces the first.
func (m *Metrics) Trigger(function string, stats func() trigger.Stats) {
	if m == nil {
		return
	}
	m.triggers.mu.Lock()
	defer m.triggers.mu.Unlock()
	m.triggers.stats[function] = stats
}

// triggerCollector turns the triggers' Stats into series at scrape time.
type triggerCollector struct {
	mu    sync.Mutex
	stats map[string]func() trigger.Stats

	counters                []triggerCounter
	assigned                *prometheus.Desc
	batchSize, callDuration *prometheus.Desc
}

// triggerCounter is one monotonic field of trigger.Stats.
type triggerCounter struct {
	desc  *prometheus.Desc
	value func(trigger.Stats) int64
}

func newTriggerCollector() *triggerCollector {
	fn := []string{"function"}
	counter := func(name, help string, value func(trigger.Stats) int64) triggerCounter {
		return triggerCounter{prometheus.NewDesc(name, help, fn, nil), value}
	}
	return &triggerCollector{
		stats: map[string]func() trigger.Stats{},
		counters: []triggerCounter{
			counter("auction_trigger_invocations_total", "Handler calls of a Kafka trigger (a failed batch is split and retried, so may take several).",
				func(s trigger.Stats) int64 { return s.Invocations }),
			counter("auction_trigger_records_total", "Records handed to calls (a record retried three times counts three times).",
				func(s trigger.Stats) int64 { return s.Records }),
			counter("auction_trigger_batches_total", "Batches read from partitions.",
				func(s trigger.Stats) int64 { return s.Batches }),
			counter("auction_trigger_processed_records_total", "Records a call completed.",
				func(s trigger.Stats) int64 { return s.Processed }),
			counter("auction_trigger_dead_letters_total", "Records given up on and written to the dead-letter topic.",
				func(s trigger.Stats) int64 { return s.DeadLettered }),
			counter("auction_trigger_splits_total", "Failed calls whose batch was bisected to find the failing record.",
				func(s trigger.Stats) int64 { return s.Splits }),
			counter("auction_trigger_retries_total", "Calls that repeat a record after it failed.",
				func(s trigger.Stats) int64 { return s.Retries }),
			counter("auction_trigger_pauses_total", "Times a partition was paused because its handler fell behind.",
				func(s trigger.Stats) int64 { return s.Pauses }),
			counter("auction_trigger_commit_errors_total", "Failed offset commits.",
				func(s trigger.Stats) int64 { return s.CommitErrors }),
		},
		assigned: prometheus.NewDesc("auction_trigger_partitions_assigned",
			"Partitions a Kafka trigger owns now.", fn, nil),
		batchSize: prometheus.NewDesc("auction_trigger_batch_size",
			"Records per handler call.", fn, nil),
		callDuration: prometheus.NewDesc("auction_trigger_call_duration_seconds",
			"Duration of handler calls.", fn, nil),
	}
}

func (c *triggerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, tc := range c.counters {
		ch <- tc.desc
	}
	ch <- c.assigned
	ch <- c.batchSize
	ch <- c.callDuration
}

func (c *triggerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	stats := maps.Clone(c.stats)
	c.mu.Unlock()
	for _, fn := range slices.Sorted(maps.Keys(stats)) {
		s := stats[fn]()
		for _, tc := range c.counters {
			ch <- prometheus.MustNewConstMetric(tc.desc, prometheus.CounterValue, float64(tc.value(s)), fn)
		}
		ch <- prometheus.MustNewConstMetric(c.assigned, prometheus.GaugeValue, float64(s.Assigned), fn)

		count, buckets := cumulative(s.BatchSizes[:], func(i int) float64 { return float64(trigger.SizeBound(i)) })
		ch <- prometheus.MustNewConstHistogram(c.batchSize, count, float64(s.Records), buckets, fn)
		count, buckets = cumulative(s.CallDurations[:], func(i int) float64 { return trigger.DurationBound(i).Seconds() })
		ch <- prometheus.MustNewConstHistogram(c.callDuration, count, s.CallTime.Seconds(), buckets, fn)
	}
}

// cumulative turns per-bucket counts, the last without bound, into
// Prometheus' cumulative buckets and the total count.
func cumulative(counts []int64, bound func(i int) float64) (uint64, map[float64]uint64) {
	buckets := make(map[float64]uint64, len(counts)-1)
	var total uint64
	for i, n := range counts {
		total += uint64(n)
		if i < len(counts)-1 {
			buckets[bound(i)] = total
		}
	}
	return total, buckets
}

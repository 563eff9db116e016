package metrics

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// TriggerStats is what a Kafka trigger reports at a scrape: its counters
// since it started and two histograms. It is this package's own type, filled
// in by whoever wires a trigger to the metrics (cmd/auction), so that the
// metrics, below the functions in the layers, never import a function
// runtime.
type TriggerStats struct {
	// Assigned is the number of partitions the trigger owns now.
	Assigned int
	// Monotonic counters; see the series' help texts.
	Batches, Invocations, Records, Processed, DeadLettered int64
	Splits, Retries, Pauses, CommitErrors                  int64
	// BatchSizes counts calls by records per call, CallDurations by
	// seconds per call.
	BatchSizes, CallDurations Histogram
}

// Histogram is a histogram already bucketed by its owner: Counts[i] counts
// the observations up to Bounds[i] and above the bound before it; the last
// count, one more than there are bounds, takes the rest. Sum is the total
// of the observations.
type Histogram struct {
	Bounds []float64
	Counts []int64
	Sum    float64
}

// Trigger reports a Kafka trigger's counters under function: stats is
// called at every scrape, so it must be cheap (the trigger's are atomic
// loads). A second trigger under the same function replaces the first.
func (m *Metrics) Trigger(function string, stats func() TriggerStats) {
	if m == nil {
		return
	}
	m.triggers.mu.Lock()
	defer m.triggers.mu.Unlock()
	m.triggers.stats[function] = stats
}

// triggerCollector turns the triggers' stats into series at scrape time.
type triggerCollector struct {
	mu    sync.Mutex
	stats map[string]func() TriggerStats

	counters                []triggerCounter
	assigned                *prometheus.Desc
	batchSize, callDuration *prometheus.Desc
}

// triggerCounter is one monotonic field of TriggerStats.
type triggerCounter struct {
	desc  *prometheus.Desc
	value func(TriggerStats) int64
}

func newTriggerCollector() *triggerCollector {
	fn := []string{"function"}
	counter := func(name, help string, value func(TriggerStats) int64) triggerCounter {
		return triggerCounter{prometheus.NewDesc(name, help, fn, nil), value}
	}
	return &triggerCollector{
		stats: map[string]func() TriggerStats{},
		counters: []triggerCounter{
			counter("auction_trigger_invocations_total", "Handler calls of a Kafka trigger (a failed batch is split and retried, so may take several).",
				func(s TriggerStats) int64 { return s.Invocations }),
			counter("auction_trigger_records_total", "Records handed to calls (a record retried three times counts three times).",
				func(s TriggerStats) int64 { return s.Records }),
			counter("auction_trigger_batches_total", "Batches read from partitions.",
				func(s TriggerStats) int64 { return s.Batches }),
			counter("auction_trigger_processed_records_total", "Records a call completed.",
				func(s TriggerStats) int64 { return s.Processed }),
			counter("auction_trigger_dead_letters_total", "Records given up on and written to the dead-letter topic.",
				func(s TriggerStats) int64 { return s.DeadLettered }),
			counter("auction_trigger_splits_total", "Failed calls whose batch was bisected to find the failing record.",
				func(s TriggerStats) int64 { return s.Splits }),
			counter("auction_trigger_retries_total", "Calls that repeat a record after it failed.",
				func(s TriggerStats) int64 { return s.Retries }),
			counter("auction_trigger_pauses_total", "Times a partition was paused because its handler fell behind.",
				func(s TriggerStats) int64 { return s.Pauses }),
			counter("auction_trigger_commit_errors_total", "Failed offset commits.",
				func(s TriggerStats) int64 { return s.CommitErrors }),
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

		count, buckets := cumulative(s.BatchSizes)
		ch <- prometheus.MustNewConstHistogram(c.batchSize, count, s.BatchSizes.Sum, buckets, fn)
		count, buckets = cumulative(s.CallDurations)
		ch <- prometheus.MustNewConstHistogram(c.callDuration, count, s.CallDurations.Sum, buckets, fn)
	}
}

// cumulative turns per-bucket counts, the last without bound, into
// Prometheus' cumulative buckets and the total count.
func cumulative(h Histogram) (uint64, map[float64]uint64) {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var total uint64
	for i, n := range h.Counts {
		total += uint64(n)
		if i < len(h.Bounds) {
			buckets[h.Bounds[i]] = total
		}
	}
	return total, buckets
}

package metrics

import (
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// PartitionLag is a consumer's lag on one partition: the records written to
// it that the consumer has not processed yet. It is the lag the Kafka
// clients report, so a trigger's or the processor's Lags is a source as is.
type PartitionLag = kafkaio.Lag

// ConsumerLag reports a consumer group's lag per partition, as lags returns
// it at every scrape; it should answer quickly and report only the
// partitions this process owns. A second source under the same group
// replaces the first.
func (m *Metrics) ConsumerLag(group string, lags func() []PartitionLag) {
	if m == nil {
		return
	}
	m.lags.mu.Lock()
	defer m.lags.mu.Unlock()
	m.lags.sources[group] = lags
}

// lagCollector reads every consumer's lag at scrape time.
type lagCollector struct {
	mu      sync.Mutex
	sources map[string]func() []PartitionLag
	desc    *prometheus.Desc
}

func newLagCollector() *lagCollector {
	return &lagCollector{
		sources: map[string]func() []PartitionLag{},
		desc: prometheus.NewDesc("auction_consumer_lag",
			"Records on a partition that its consumer group has not yet processed, by group, topic and partition.",
			[]string{"group", "topic", "partition"}, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := maps.Clone(c.sources)
	c.mu.Unlock()
	for _, group := range slices.Sorted(maps.Keys(sources)) {
		for _, l := range sources[group]() {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(l.Records),
				group, l.Topic, strconv.Itoa(int(l.Partition)))
		}
	}
}

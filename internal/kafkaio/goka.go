package kafkaio

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/rcrowley/go-metrics"
)

// sarama keeps go-metrics meters and histograms of every request, record
// and batch it handles, which nothing here reads (consumer lag comes from
// goka and librdkafka's statistics): with the library's switch off each
// one is a no-op and its five-second ticker does not run. It is a global
// of go-metrics, set once before any client exists.
func init() { metrics.UseNilMetrics = true }

// GokaConfig is the sarama configuration goka's processors, views and
// emitters use. Every line departs from goka's defaults for a reason.
func (c Config) GokaConfig(flush time.Duration) *sarama.Config {
	sc := goka.DefaultConfig()
	// Kafka 4.x refuses protocol versions before 2.1; the embedded broker
	// misreads OffsetFetch answers newer than 2.3.
	sc.Version = sarama.V2_1_0_0
	if c.ClientID != "" {
		sc.ClientID = c.ClientID
	}
	// goka starts a new group's input streams at the newest offset, which
	// silently skips events written before the processor first joined.
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	// goka's default (WaitForLocal) can lose a decision on leader failover.
	sc.Producer.RequiredAcks = sarama.WaitForAll
	// goka's default, snappy, costs the processor's writes and every
	// reader of them (the rows above all) a quarter of a batched bid's CPU
	// in Go's codec; lz4 keeps the topics compressed for a fraction of it,
	// and is what the platform's librdkafka producer writes.
	sc.Producer.Compression = sarama.CompressionLZ4
	// A leader failover makes the partitions of the lost node unwritable
	// until the controller moves them (the broker's session timeout, 9 s
	// by default): sarama's 3 retries 100 ms apart gave up long before, and
	// the processor stopped and started again. Retries ride it out, and the
	// idempotent producer keeps them in order and unduplicated: without it,
	// a retried write of a row could land after a newer one and be the row
	// a recovering processor reads. (It needs one request in flight.)
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 40
	sc.Producer.Retry.Backoff = 250 * time.Millisecond
	// goka's default flush of 100 ms makes every decision wait that long.
	// Zero flushes as soon as possible; records still batch while a request
	// is in flight.
	sc.Producer.Flush.Frequency = flush
	if flush == 0 {
		sc.Producer.Flush.Bytes = 0
	}
	sc.Metadata.Retry.Backoff = 100 * time.Millisecond
	// A processor notices a rebalance at its next heartbeat; sarama's 3 s
	// default adds up to 3 s to the pause every join or leave causes (goka
	// itself waits a fixed 5 s before rejoining).
	sc.Consumer.Group.Heartbeat.Interval = heartbeatIntervalMs * time.Millisecond
	sc.Consumer.Group.Session.Timeout = sessionTimeoutMs * time.Millisecond
	// goka marks an input done once its emits are acknowledged; sarama
	// commits the marks every second by default, and everything after the
	// last commit is processed again after a crash (decided once, but
	// emitted again). A quarter of a second replays a quarter as much.
	sc.Consumer.Offsets.AutoCommit.Interval = 250 * time.Millisecond
	// A static member (see GroupConsumer) that restarts takes its partitions
	// back without a rebalance, so the other processors do not stop for
	// goka's fixed 5 s rejoin wait. sarama needs protocol 2.3 for it, still
	// one the embedded broker reads.
	if c.InstanceID != "" {
		sc.Version = sarama.V2_3_0_0
		sc.Consumer.Group.InstanceId = c.InstanceID
	}
	c.Security.sarama(sc)
	return sc
}

// GokaBackoff is how long goka waits before it retries a view (the
// gateway's, the processor's lookup table) that lost its broker: 250 ms
// more each time, up to 2 s. goka's default steps by 10 s up to 2 minutes,
// so a view came back ~12 s after its broker did.
func GokaBackoff() (goka.Backoff, error) {
	return goka.NewSimpleBackoff(250*time.Millisecond, 2*time.Second), nil
}

// GokaTopicManager makes goka create its table topic with the cluster's
// replication instead of its default of 2, and refuse a mismatched one.
func (c Config) GokaTopicManager() *goka.TopicManagerConfig {
	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication = c.Replication
	tm.Stream.Replication = c.Replication
	tm.CreateTopicTimeout = 30 * time.Second
	return tm
}

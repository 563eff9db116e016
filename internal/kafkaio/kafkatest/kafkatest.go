// Package kafkatest gives tests a Kafka cluster and ways to look inside it.
// With KAFKA_BROKERS set, tests run against that (real) cluster; otherwise
// each test gets its own embedded broker.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/embedbroker"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// EnvBrokers names the variable that points tests at a real cluster.
const EnvBrokers = "KAFKA_BROKERS"

// Cluster returns brokers for t: the real cluster of KAFKA_BROKERS, or a new
// embedded broker closed when t ends.
func Cluster(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvBrokers); env != "" {
		return strings.Split(env, ",")
	}
	b, err := embedbroker.Start(0)
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b.Addrs()
}

// Real reports whether tests run against a real cluster.
func Real() bool { return os.Getenv(EnvBrokers) != "" }

// Config is a kafkaio config for brokers with replication 1.
func Config(brokers []string, partitions int) kafkaio.Config {
	return kafkaio.Config{Brokers: brokers, ClientID: "test", Partitions: partitions,
		Replication: 1, DeliveryTimeout: 10 * time.Second}
}

// CreateTopic creates a topic with n partitions and waits until it is
// ready (kafkaio.CreateTopic).
func CreateTopic(t testing.TB, brokers []string, topic string, n int, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkaio.CreateTopic(ctx, kafkaio.Config{Brokers: brokers, Replication: 1}, topic, n, configs); err != nil {
		t.Fatal(err)
	}
}

// CatalogTopic creates one of the catalog's topics with n partitions,
// unless it exists: on a real cluster shared by the whole suite, the
// platform's tests that ran before created it, with their own count.
func CatalogTopic(t testing.TB, brokers []string, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := kafkaio.CreateTopic(ctx, kafkaio.Config{Brokers: brokers, Replication: 1}, topic, n, nil)
	var kerr kafka.Error
	if err != nil && !(errors.As(err, &kerr) && kerr.Code() == kafka.ErrTopicAlreadyExists) {
		t.Fatal(err)
	}
}

// Record is a consumed record with its coordinates.
type Record struct {
	cekafka.Message
	Topic     string
	Partition int32
	Offset    int64
}

// ReadN reads topic from the beginning until it has n records, failing t if
// they do not arrive within timeout.
func ReadN(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []Record {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  strings.Join(brokers, ","),
		"group.id":           fmt.Sprintf("kafkatest-%d", time.Now().UnixNano()),
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
		"log_level":          4,
	})
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	var out []Record
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("read %s: %v", topic, err)
		}
		out = append(out, Record{
			Message:   cekafka.Message{Key: m.Key, Value: m.Value, Headers: kafkaio.FromKafkaHeaders(m.Headers)},
			Topic:     *m.TopicPartition.Topic,
			Partition: m.TopicPartition.Partition,
			Offset:    int64(m.TopicPartition.Offset),
		})
	}
	if len(out) < n {
		t.Fatalf("read %s: got %d records within %s, want %d", topic, len(out), timeout, n)
	}
	return out
}

// Count sums the watermarks of topic's partitions: how many records were
// ever written to it. Acknowledged writes are counted at once, so asserting
// "exactly n" needs no waiting.
func Count(t testing.TB, brokers []string, topic string, partitions int) int64 {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": strings.Join(brokers, ","),
		"group.id":          "kafkatest-watermarks",
		"log_level":         4,
	})
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	var n int64
	for p := range partitions {
		low, high, err := c.QueryWatermarkOffsets(topic, int32(p), 10000)
		if err != nil {
			t.Fatalf("watermarks of %s/%d: %v", topic, p, err)
		}
		n += high - low
	}
	return n
}

// ReadKeys reads every partition of topic from the beginning until it has n
// records whose key is one of keys, then on to the end of each partition as
// it stood at that moment, and returns all the records with those keys (so a
// duplicate written before then is counted too). Records of other keys are
// skipped: on a real cluster the fixed catalog topics are shared with other
// tests and earlier runs, so a test reads and counts only its own keys.
func ReadKeys(t testing.TB, brokers []string, topic string, keys []string, n int, timeout time.Duration) []Record {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  strings.Join(brokers, ","),
		"group.id":           fmt.Sprintf("kafkatest-%d", time.Now().UnixNano()),
		"enable.auto.commit": false,
		"log_level":          4,
	})
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, 10000)
	if err != nil {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	tm, ok := md.Topics[topic]
	if !ok || tm.Error.Code() != kafka.ErrNoError || len(tm.Partitions) == 0 {
		t.Fatalf("metadata of %s: topic unknown (%v)", topic, tm.Error)
	}
	var tps []kafka.TopicPartition
	for _, p := range tm.Partitions {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.OffsetBeginning})
	}
	if err := c.Assign(tps); err != nil {
		t.Fatalf("assign %s: %v", topic, err)
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var out []Record
	next := map[int32]int64{} // per partition, the offset after the last record read
	var end map[int32]int64   // per partition, the high watermark once n records were read
	atEnd := func() bool {
		for p, high := range end {
			if next[p] < high {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if end == nil && len(out) >= n {
			end = map[int32]int64{}
			for _, tp := range tps {
				low, high, err := c.QueryWatermarkOffsets(topic, tp.Partition, 10000)
				if err != nil {
					t.Fatalf("watermarks of %s/%d: %v", topic, tp.Partition, err)
				}
				end[tp.Partition] = high
				next[tp.Partition] = max(next[tp.Partition], low)
			}
		}
		if end != nil && atEnd() {
			return out
		}
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("read %s: %v", topic, err)
		}
		next[m.TopicPartition.Partition] = int64(m.TopicPartition.Offset) + 1
		if !want[string(m.Key)] {
			continue
		}
		out = append(out, Record{
			Message:   cekafka.Message{Key: m.Key, Value: m.Value, Headers: kafkaio.FromKafkaHeaders(m.Headers)},
			Topic:     *m.TopicPartition.Topic,
			Partition: m.TopicPartition.Partition,
			Offset:    int64(m.TopicPartition.Offset),
		})
	}
	if len(out) < n {
		t.Fatalf("read %s: got %d records with keys %v within %s, want %d", topic, len(out), keys, timeout, n)
	}
	t.Fatalf("read %s: got %d records with keys %v, but did not reach the end of the topic within %s", topic, len(out), keys, timeout)
	return nil
}

// Consumer is a plain librdkafka consumer of cm, for a test that inspects
// the cluster itself (metadata, watermarks, raw records) rather than going
// through the platform's clients; the caller closes it. Clients are created
// only in kafkaio and here (TestClientsOnlyInKafkaio).
func Consumer(t testing.TB, cm kafka.ConfigMap) *kafka.Consumer {
	t.Helper()
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	return c
}

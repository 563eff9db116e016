package kafkaio

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Reader reads partitions it assigns itself, with no consumer group to join
// and nothing ever committed: a broadcast every replica reads in full (the
// gateway's live verdicts), or a measurement (the load generator), not work
// to share. Reading starts at once, with no rebalance to wait for.
type Reader struct {
	m   *Member
	log *slog.Logger
}

// From is where a Reader starts on each partition.
type From int

const (
	// FromStart reads everything still on the partition.
	FromStart From = iota
	// FromEnd reads what is written after the Reader was positioned.
	FromEnd
)

// readerPollTimeout bounds how long Read waits for a record, and so how
// quickly it notices ctx ending.
const readerPollTimeout = 100 * time.Millisecond

// metadataTimeoutMs bounds each metadata and watermark query of Assign.
const metadataTimeoutMs = 10000

// NewReader creates a reader; name prefixes the group id librdkafka
// requires even for manual assignment (made unique per reader, and never
// committed under). extra adds librdkafka settings.
func NewReader(cfg Config, name string, extra kafka.ConfigMap, log *slog.Logger) (*Reader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := kafka.ConfigMap{
		"group.id":                 fmt.Sprintf("%s-%d", name, time.Now().UnixNano()),
		"enable.auto.commit":       false,
		"enable.auto.offset.store": false,
		// The broker answers a fetch at once rather than holding it for
		// more data: a reader measures or forwards each record as it comes.
		"fetch.wait.max.ms":      10,
		"go.logs.channel.enable": true,
	}
	for k, v := range extra {
		m[k] = v
	}
	mem, err := NewMember(cfg.configMap(m), log)
	if err != nil {
		return nil, fmt.Errorf("reader %s: %w", name, err)
	}
	return &Reader{m: mem, log: log}, nil
}

// Assign positions the reader on every partition of topics, at its start or
// its end. The end is the partition's high watermark now, an explicit
// offset: librdkafka resolves its logical end only at the first fetch, and
// records written before then would be missed. A topic that does not exist
// is an error.
func (r *Reader) Assign(from From, topics ...string) error {
	var tps []kafka.TopicPartition
	for _, t := range topics {
		md, err := r.m.GetMetadata(&t, false, metadataTimeoutMs)
		if err != nil {
			return fmt.Errorf("metadata of %s: %w", t, err)
		}
		tm := md.Topics[t]
		if tm.Error.Code() != kafka.ErrNoError || len(tm.Partitions) == 0 {
			return fmt.Errorf("topic %s: not found (%v)", t, tm.Error)
		}
		for _, p := range tm.Partitions {
			low, high, err := r.m.QueryWatermarkOffsets(t, p.ID, metadataTimeoutMs)
			if err != nil {
				return fmt.Errorf("watermarks of %s/%d: %w", t, p.ID, err)
			}
			off := low
			if from == FromEnd {
				off = high
			}
			topic := t
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.Offset(off)})
		}
	}
	if err := r.m.Assign(tps); err != nil {
		return fmt.Errorf("assign %v: %w", topics, err)
	}
	return nil
}

// Read calls fn with each record until fn returns false or ctx ends, and
// then returns nil; it returns an error only when the consumer fails
// fatally. Records with a partition error are logged and skipped.
func (r *Reader) Read(ctx context.Context, fn func(*kafka.Message) bool) error {
	for ctx.Err() == nil {
		switch ev := r.m.Poll(int(readerPollTimeout / time.Millisecond)).(type) {
		case *kafka.Message:
			if err := ev.TopicPartition.Error; err != nil {
				r.log.Debug("kafka reader", "topic", topicOf(ev.TopicPartition), "partition", ev.TopicPartition.Partition, "err", err)
				break
			}
			if !fn(ev) {
				return nil
			}
		case kafka.Error:
			if ev.IsFatal() {
				return fmt.Errorf("kafka reader: %w", ev)
			}
			r.log.Debug("kafka reader", "err", ev)
		}
	}
	return nil
}

// Close closes the reader (see Member.Close).
func (r *Reader) Close() { r.m.Close() }

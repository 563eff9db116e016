package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// ErrUnavailable means the broker did not acknowledge a write in time. The
// write may or may not have happened; the caller must not claim it did.
var ErrUnavailable = errors.New("kafka unavailable")

// Producer writes records and waits until the cluster acknowledged them.
// It is idempotent with acks=all: a record the caller was told about is
// replicated, and librdkafka's retries never duplicate or reorder it.
type Producer struct {
	p       *kafka.Producer
	timeout time.Duration
	log     *slog.Logger
	done    chan struct{}
}

// NewProducer connects a producer. Close it to flush.
func NewProducer(cfg Config, log *slog.Logger) (*Producer, error) {
	timeout := cfg.DeliveryTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	p, err := kafka.NewProducer(cfg.configMap(kafka.ConfigMap{
		"acks":               "all",
		"enable.idempotence": true,
		// goka hashes keys with FNV-1a; so must we (see package doc).
		"partitioner": "fnv1a",
		// Latency over batching: a request waits at most 1 ms for company.
		// Under load, requests still batch while earlier ones are in flight.
		"linger.ms":              1,
		"message.timeout.ms":     int(timeout / time.Millisecond),
		"compression.type":       "lz4",
		"go.logs.channel.enable": true,
	}))
	if err != nil {
		return nil, fmt.Errorf("new kafka producer: %w", err)
	}
	pr := &Producer{p: p, timeout: timeout, log: log, done: make(chan struct{})}
	go pr.drainEvents()
	return pr, nil
}

// drainEvents forwards librdkafka's logs and drops delivery reports of
// records nobody waits for (there are none: every Produce passes a channel).
func (p *Producer) drainEvents() {
	logs := p.p.Logs()
	for {
		select {
		case l, ok := <-logs:
			if !ok {
				return
			}
			p.log.Debug("librdkafka", "name", l.Name, "tag", l.Tag, "level", l.Level, "msg", l.Message)
		case ev, ok := <-p.p.Events():
			if !ok {
				return
			}
			if err, isErr := ev.(kafka.Error); isErr {
				p.log.Warn("kafka producer", "err", err)
			}
		case <-p.done:
			return
		}
	}
}

// Record is one record to write.
type Record struct {
	Topic string
	cekafka.Message
}

// Events encodes CloudEvents for topic in binary content mode.
func Events(topic string, events ...event.Event) ([]Record, error) {
	recs := make([]Record, len(events))
	for i, e := range events {
		m, err := cekafka.Encode(e)
		if err != nil {
			return nil, fmt.Errorf("encode event %s for %s: %w", e.ID(), topic, err)
		}
		recs[i] = Record{Topic: topic, Message: m}
	}
	return recs, nil
}

// PublishEvents writes CloudEvents to topic and waits for every acknowledgement.
func (p *Producer) PublishEvents(ctx context.Context, topic string, events ...event.Event) error {
	recs, err := Events(topic, events...)
	if err != nil {
		return err
	}
	return p.Write(ctx, recs...)
}

// Write produces records and returns once all are acknowledged, or with the
// first error. It returns ErrUnavailable when the cluster could not take them.
// The write is a producer span, and every record carries its trace context
// in its headers (see internal/telemetry).
func (p *Producer) Write(ctx context.Context, recs ...Record) (err error) {
	if len(recs) == 0 {
		return nil
	}
	ctx, span := telemetry.StartPublish(ctx, recs[0].Topic, len(recs))
	defer func() { telemetry.End(span, err) }()
	reports := make(chan kafka.Event, len(recs))
	for i := range recs {
		r := &recs[i]
		topic := r.Topic
		msg := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            r.Key,
			Value:          r.Value,
			Headers:        toKafkaHeaders(telemetry.Inject(ctx, slices.Clone(r.Headers))),
		}
		if err := p.p.Produce(msg, reports); err != nil {
			// Records already queued still report; wait for them so the
			// channel is not abandoned with writes in flight.
			p.await(ctx, reports, i)
			return fmt.Errorf("produce to %s: %w", topic, classify(err))
		}
	}
	return p.await(ctx, reports, len(recs))
}

func (p *Producer) await(ctx context.Context, reports chan kafka.Event, n int) error {
	var first error
	for range n {
		select {
		case ev := <-reports:
			m, ok := ev.(*kafka.Message)
			if !ok {
				continue
			}
			if err := m.TopicPartition.Error; err != nil && first == nil {
				first = fmt.Errorf("deliver to %s: %w", *m.TopicPartition.Topic, classify(err))
			}
		case <-ctx.Done():
			// librdkafka still owns the records; their reports land in the
			// buffered channel and are dropped with it.
			return fmt.Errorf("await delivery: %w", errors.Join(ErrUnavailable, ctx.Err()))
		}
	}
	return first
}

func classify(err error) error {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr.Code() {
		case kafka.ErrMsgTimedOut, kafka.ErrTransport, kafka.ErrAllBrokersDown, kafka.ErrQueueFull,
			kafka.ErrTimedOut, kafka.ErrTimedOutQueue, kafka.ErrNotEnoughReplicas,
			kafka.ErrNotEnoughReplicasAfterAppend, kafka.ErrLeaderNotAvailable, kafka.ErrNotLeaderForPartition:
			return errors.Join(ErrUnavailable, err)
		}
	}
	return err
}

// Ping checks that the cluster answers a metadata request.
func (p *Producer) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka metadata: %w", errors.Join(ErrUnavailable, err))
	}
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	// At least 1 ms: 0 is librdkafka's "do not wait" and -1 (a deadline that
	// passed a moment ago) its "wait forever", which would also block Close.
	ms := max(1, int(timeout/time.Millisecond))
	if _, err := p.p.GetMetadata(nil, false, ms); err != nil {
		return fmt.Errorf("kafka metadata: %w", errors.Join(ErrUnavailable, err))
	}
	return nil
}

// Close flushes what is queued (bounded by the delivery timeout) and closes.
func (p *Producer) Close() {
	if left := p.p.Flush(int(p.timeout / time.Millisecond)); left > 0 {
		p.log.Warn("kafka producer closed with unflushed records", "records", left)
	}
	close(p.done)
	p.p.Close()
}

func toKafkaHeaders(hs []cekafka.Header) []kafka.Header {
	out := make([]kafka.Header, len(hs))
	for i, h := range hs {
		out[i] = kafka.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

// FromKafkaHeaders converts librdkafka headers to the binding's.
func FromKafkaHeaders(hs []kafka.Header) []cekafka.Header {
	out := make([]cekafka.Header, len(hs))
	for i, h := range hs {
		out[i] = cekafka.Header{Key: h.Key, Value: h.Value}
	}
	return out
}

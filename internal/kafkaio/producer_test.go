package kafkaio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/internal/embedbroker"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// bound is how long a call may take, however the broker fails, before the
// test calls it hung. Far above every timeout under test: this is not a
// latency assertion.
const bound = 10 * time.Second

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func uniqueTopic(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func newProducer(t *testing.T, cfg kafkaio.Config) *kafkaio.Producer {
	t.Helper()
	p, err := kafkaio.NewProducer(cfg, discard())
	if err != nil {
		t.Fatalf("NewProducer: got %v, want nil", err)
	}
	t.Cleanup(p.Close)
	return p
}

func records(topic string, n int) []kafkaio.Record {
	recs := make([]kafkaio.Record, n)
	for i := range recs {
		recs[i] = kafkaio.Record{Topic: topic, Message: cekafka.Message{
			Key:     fmt.Appendf(nil, "key-%d", i%17),
			Value:   fmt.Appendf(nil, "value-%d", i),
			Headers: []cekafka.Header{{Key: "n", Value: fmt.Appendf(nil, "%d", i)}},
		}}
	}
	return recs
}

// returnsWithin runs f and fails t unless it returns within d.
func returnsWithin[T any](t *testing.T, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	start := time.Now()
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-done:
		t.Logf("%s returned after %s", what, time.Since(start).Round(time.Millisecond))
		return v
	case <-timer.C:
		t.Fatalf("%s: still running after %s, want it to return", what, d)
		panic("unreachable")
	}
}

func TestWrite(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	tests := []struct {
		name       string
		partitions int
		n          int
	}{
		{name: "nothing", partitions: 1, n: 0},
		{name: "one", partitions: 1, n: 1},
		{name: "100 over 3 partitions", partitions: 3, n: 100},
	}
	p := newProducer(t, kafkatest.Config(brokers, 3))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := uniqueTopic("write")
			kafkatest.CreateTopic(t, brokers, topic, tt.partitions, nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			if err := p.Write(ctx, records(topic, tt.n)...); err != nil {
				t.Fatalf("Write(%d records): got %v, want nil", tt.n, err)
			}
			// Write returned, so every record is acknowledged: no waiting.
			if got := kafkatest.Count(t, brokers, topic, tt.partitions); got != int64(tt.n) {
				t.Fatalf("Count(%s): got %d, want %d", topic, got, tt.n)
			}
			if tt.n == 0 {
				return
			}
			got := kafkatest.ReadN(t, brokers, topic, tt.n, 30*time.Second)
			values := make([]string, len(got))
			for i, r := range got {
				values[i] = string(r.Value)
			}
			want := make([]string, tt.n)
			for i := range want {
				want[i] = fmt.Sprintf("value-%d", i)
			}
			slices.Sort(values)
			slices.Sort(want)
			if !slices.Equal(values, want) {
				t.Fatalf("values: got %v, want %v", values, want)
			}
		})
	}
}

func TestPublishEvents(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	topic := uniqueTopic("publish")
	kafkatest.CreateTopic(t, brokers, topic, 3, nil)
	p := newProducer(t, kafkatest.Config(brokers, 3))

	var events []event.Event
	for i := range 3 {
		e := event.New()
		e.SetID(fmt.Sprintf("event-%d", i))
		e.SetSource("/test")
		e.SetType("test.happened.v1")
		e.SetSubject("item-1")
		e.SetExtension("partitionkey", "item-1")
		if err := e.SetData(event.ApplicationJSON, map[string]int{"n": i}); err != nil {
			t.Fatalf("SetData: got %v, want nil", err)
		}
		events = append(events, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.PublishEvents(ctx, topic, events...); err != nil {
		t.Fatalf("PublishEvents: got %v, want nil", err)
	}

	got := kafkatest.ReadN(t, brokers, topic, len(events), 30*time.Second)
	for i, r := range got {
		if string(r.Key) != "item-1" || r.Partition != got[0].Partition {
			t.Fatalf("record %d: got key %q in partition %d, want key item-1 in one partition (%d)", i, r.Key, r.Partition, got[0].Partition)
		}
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			t.Fatalf("Decode record %d: got %v, want nil", i, err)
		}
		// One key, one partition: the log keeps the order of the call.
		if want := fmt.Sprintf("event-%d", i); e.ID() != want {
			t.Fatalf("record %d: got event %q, want %q", i, e.ID(), want)
		}
	}
}

// startBroker starts an embedded broker that the test can stop, with topic
// on it, and a producer with a short delivery timeout.
func startBroker(t *testing.T, topic string, deliveryTimeout time.Duration) (*embedbroker.Broker, *kafkaio.Producer) {
	t.Helper()
	if kafkatest.Real() {
		t.Skipf("%s is set: this test stops the broker, which it can only do to an embedded one", kafkatest.EnvBrokers)
	}
	b, err := embedbroker.Start(0)
	if err != nil {
		t.Fatalf("embedbroker.Start: got %v, want nil", err)
	}
	t.Cleanup(b.Close) // Close is idempotent; the test closes it earlier
	kafkatest.CreateTopic(t, b.Addrs(), topic, 1, nil)
	cfg := kafkatest.Config(b.Addrs(), 1)
	cfg.DeliveryTimeout = deliveryTimeout
	return b, newProducer(t, cfg)
}

// TestWriteBrokerGone proves the edge's promise: 202 is never answered for a
// record that is not in Kafka. Once the broker is gone, Write does not return
// nil; it returns ErrUnavailable (the gateway's 503), and within a bound,
// not whenever the caller gives up.
func TestWriteBrokerGone(t *testing.T) {
	topic := uniqueTopic("gone")
	b, p := startBroker(t, topic, 2*time.Second)
	// The caller's deadline is far beyond the bound: what ends the write
	// is the producer's delivery timeout, not the caller.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if err := p.Write(ctx, records(topic, 1)...); err != nil {
		t.Fatalf("Write before the broker stops: got %v, want nil", err)
	}
	b.Close()

	err := returnsWithin(t, bound, "Write after the broker stopped", func() error {
		return p.Write(ctx, records(topic, 3)...)
	})
	if !errors.Is(err, kafkaio.ErrUnavailable) {
		t.Fatalf("Write after the broker stopped: got %v, want it to wrap kafkaio.ErrUnavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write after the broker stopped: got %v, want the producer's own timeout, not the caller's", err)
	}
}

// TestWriteCallerGivesUp: a caller whose deadline comes before the delivery
// timeout is not kept waiting, and is told the write is not known to be in.
func TestWriteCallerGivesUp(t *testing.T) {
	topic := uniqueTopic("caller")
	// The delivery timeout only bounds Close's flush here.
	b, p := startBroker(t, topic, 2*time.Second)
	b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := returnsWithin(t, bound, "Write with a short deadline", func() error {
		return p.Write(ctx, records(topic, 2)...)
	})
	if !errors.Is(err, kafkaio.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write: got %v, want it to wrap kafkaio.ErrUnavailable and context.DeadlineExceeded", err)
	}
}

func TestPing(t *testing.T) {
	topic := uniqueTopic("ping")
	b, p := startBroker(t, topic, 2*time.Second)

	// In order: the first case that stops the broker stops it for the rest.
	tests := []struct {
		name    string
		stop    bool
		timeout time.Duration // the caller's deadline; 0: none
		wantErr error
	}{
		{name: "broker up", timeout: 5 * time.Second},
		{name: "broker up, no deadline"},
		{name: "broker up, deadline passed", timeout: -time.Second, wantErr: context.DeadlineExceeded},
		{name: "broker gone", stop: true, timeout: 2 * time.Second, wantErr: kafkaio.ErrUnavailable},
		{name: "broker gone, no deadline", stop: true, wantErr: kafkaio.ErrUnavailable},
		// Already expired: time.Until is negative. -1 ms is librdkafka's
		// "wait forever", so the expiry must not be passed through as is.
		{name: "broker gone, deadline passed 1.5 ms ago", stop: true, timeout: -1500 * time.Microsecond,
			wantErr: kafkaio.ErrUnavailable},
		{name: "broker gone, deadline passed 1 s ago", stop: true, timeout: -time.Second, wantErr: kafkaio.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.stop {
				b.Close()
			}
			ctx := context.Background()
			if tt.timeout != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, time.Now().Add(tt.timeout))
				defer cancel()
			}
			err := returnsWithin(t, bound, "Ping", func() error { return p.Ping(ctx) })
			if !errors.Is(err, tt.wantErr) { // errors.Is(err, nil) is err == nil
				t.Fatalf("Ping: got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

package auction_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/streams/auction"
)

// waitTimeout bounds every wait on the broker; generous for slow CI.
const waitTimeout = 30 * time.Second

// TestProcessorOnBroker runs the processor against a broker: bad records on
// auction.items end up on auction.dead-letter with their origin, and a valid
// item after them still reaches the table.
func TestProcessorOnBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kafka broker (embedded or $KAFKA_BROKERS)")
	}
	brokers := kafkatest.Cluster(t)
	cfg := kafkatest.Config(brokers, 3)
	cfg.ClientID = "auction-test"
	log := slog.New(slog.DiscardHandler)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}

	// The processor.
	p, err := auction.New(auction.Config{Kafka: cfg, Log: log, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("new processor: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, func() { close(ready) }) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("processor stopped with %v, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("processor did not stop within %s", waitTimeout)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("processor stopped before it was ready: %v", err)
	case <-time.After(waitTimeout):
		t.Fatalf("processor not ready within %s", waitTimeout)
	}

	// The records: undecodable, wrong type, valid. Every read below looks at
	// these keys only (see runToken).
	run := runToken()
	bad := cekafka.Message{Key: []byte("item-bad" + run), Value: []byte("\x00\xffnot a cloudevent{")}
	wrong := newEvent(t, schemas.TypeCloseDue, "evt-close"+run, "item-close"+run, schemas.CloseDue{
		ItemID: "item-close" + run, EndsAt: testNow, CloseAt: testNow.Add(time.Minute),
	})
	good := goldenItem(t)
	good.ItemID += run
	valid := newEvent(t, schemas.TypeItemPlaced, "evt-good"+run, good.ItemID, good)
	ours := []string{string(bad.Key), string(wrong.Key), string(valid.Key)}

	prod, err := kafkaio.NewProducer(cfg, log)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	t.Cleanup(prod.Close)
	for _, m := range []cekafka.Message{bad, wrong, valid} {
		if err := prod.Write(ctx, kafkaio.Record{Topic: schemas.TopicItems, Message: m}); err != nil {
			t.Fatalf("write %s: %v", m.Key, err)
		}
	}

	// Where each record landed.
	origin := map[string]kafkatest.Record{}
	for _, r := range kafkatest.ReadKeys(t, brokers, schemas.TopicItems, ours, 3, waitTimeout) {
		origin[string(r.Key)] = r
	}
	if len(origin) != 3 {
		t.Fatalf("got %d distinct keys on %s, want 3", len(origin), schemas.TopicItems)
	}

	// The valid item reaches the table, as a view sees it.
	view, err := auction.NewView(cfg, log)
	if err != nil {
		t.Fatalf("new view: %v", err)
	}
	viewDone := make(chan error, 1)
	go func() { viewDone <- view.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-viewDone:
		case <-time.After(waitTimeout):
			t.Errorf("view did not stop within %s", waitTimeout)
		}
	})
	s := pollView(t, view, good.ItemID, viewDone)
	if s.Status != auction.StatusOpen || s.Version != 1 || s.Item == nil || s.Item.ItemID != good.ItemID || s.Item.Title != good.Title {
		t.Fatalf("got state %+v (item %+v), want open, version 1, item %s", *s, s.Item, good.ItemID)
	}

	// The two bad records are dead-lettered, once each, and the valid one
	// not at all.
	dead := kafkatest.ReadKeys(t, brokers, schemas.TopicDeadLetter, ours, 2, waitTimeout)
	if n := countKeys(t, brokers, schemas.TopicDeadLetter, cfg.Partitions, ours, 2); n != 2 {
		t.Fatalf("got %d records on %s, want 2", n, schemas.TopicDeadLetter)
	}
	byKey := map[string]kafkatest.Record{}
	for _, r := range dead {
		byKey[string(r.Key)] = r
	}
	for _, tc := range []struct {
		in     cekafka.Message
		errHas []string
	}{
		{in: bad, errHas: []string{"not a CloudEvent"}},
		{in: wrong, errHas: []string{"evt-close", schemas.TypeCloseDue, "does not belong on"}},
	} {
		key := string(tc.in.Key)
		r, ok := byKey[key]
		if !ok {
			t.Fatalf("got dead-letter keys %v, want %q among them", keys(byKey), key)
		}
		from := origin[key]
		if !bytes.Equal(r.Value, tc.in.Value) {
			t.Fatalf("%s: got dead-letter value %q, want %q", key, r.Value, tc.in.Value)
		}
		for _, h := range tc.in.Headers {
			if got, _ := r.Header(h.Key); string(got) != string(h.Value) {
				t.Fatalf("%s: got original header %s=%q, want %q", key, h.Key, got, h.Value)
			}
		}
		want := map[string]string{
			schemas.HeaderDLQTopic:     schemas.TopicItems,
			schemas.HeaderDLQPartition: strconv.Itoa(int(from.Partition)),
			schemas.HeaderDLQOffset:    strconv.FormatInt(from.Offset, 10),
			schemas.HeaderDLQAttempts:  "1",
			schemas.HeaderDLQConsumer:  string(auction.Group),
			schemas.HeaderDLQTime:      testNow.Format(time.RFC3339Nano),
		}
		for k, v := range want {
			if got, ok := r.Header(k); !ok || string(got) != v {
				t.Fatalf("%s: got header %s=%q (present %v), want %q", key, k, got, ok, v)
			}
		}
		errText, _ := r.Header(schemas.HeaderDLQError)
		if len(errText) == 0 {
			t.Fatalf("%s: got empty %s header, want the cause", key, schemas.HeaderDLQError)
		}
		for _, sub := range tc.errHas {
			if !strings.Contains(string(errText), sub) {
				t.Fatalf("%s: got %s %q, want it to mention %q", key, schemas.HeaderDLQError, errText, sub)
			}
		}
	}
}

// runToken makes ids unique to this run on a real cluster ($KAFKA_BROKERS),
// where the fixed auction topics, the group and its table outlive a test and
// hold earlier runs' and other packages' records; there a test reads and
// counts the records of its own keys only. On the embedded broker (one per
// test) ids stay fixed, so how they hash to partitions is the same every run.
func runToken() string {
	if !kafkatest.Real() {
		return ""
	}
	return "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// countKeys is how many records were written to topic: all of them on the
// embedded broker, which only this test writes to, and those with one of keys
// on a real cluster (waiting for at least want of them, then reading to the
// end of the topic).
func countKeys(t *testing.T, brokers []string, topic string, partitions int, keys []string, want int) int64 {
	t.Helper()
	if !kafkatest.Real() {
		return kafkatest.Count(t, brokers, topic, partitions)
	}
	return int64(len(kafkatest.ReadKeys(t, brokers, topic, keys, want, waitTimeout)))
}

// pollView waits until the view holds a row for key.
func pollView(t testing.TB, view *auction.View, key string, viewDone <-chan error) *auction.State {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	var lastErr error
	for {
		s, err := view.Get(key)
		if err == nil && s != nil {
			return s
		}
		lastErr = err
		select {
		case <-tick.C:
		case err := <-viewDone:
			t.Fatalf("view stopped while waiting for %s: %v", key, err)
		case <-deadline:
			t.Fatalf("got no row for %s within %s (last error %v), want one", key, waitTimeout, lastErr)
		}
	}
}

func keys(m map[string]kafkatest.Record) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

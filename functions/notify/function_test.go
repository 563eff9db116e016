package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// recorder is an output topic that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	recs []kafkaio.Record
}

func (r *recorder) Write(_ context.Context, recs ...kafkaio.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, recs...)
	return nil
}

func (r *recorder) events(t *testing.T) []schemas.Received {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []schemas.Received
	for _, rec := range r.recs {
		got, err := schemas.Read(rec.Topic, rec.Message)
		if err != nil {
			t.Fatalf("output on %s: %v", rec.Topic, err)
		}
		out = append(out, got)
	}
	return out
}

// completion encodes ic as the processor writes it, under key.
func completion(t *testing.T, id, key string, ic schemas.ItemCompleted) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(schemas.TypeItemCompleted, schemas.Meta{
		ID: id, Source: "/test/processor", Subject: ic.ItemID, Key: key, Time: ic.ClosedAt,
	}, ic)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOnCompletedRefusesWhatTheProcessorRefuses runs notify on its trigger
// over completions, two of which it once took: one under another item's
// key, one whose data breaks its schema (sold without a winner) but
// decodes. Both are dead-lettered with their origin, as the processor
// dead-letters such records (both read with schemas.Read); nobody is
// notified of them, and the good ones are announced, caused by their
// completions.
func TestOnCompletedRefusesWhatTheProcessorRefuses(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	run := time.Now().UnixNano()
	topic := fmt.Sprintf("notify-in-%d", run)
	dlq := fmt.Sprintf("notify-dlq-%d", run)
	kafkatest.CreateTopic(t, brokers, topic, 1, nil)
	kafkatest.CreateTopic(t, brokers, dlq, 1, nil)
	prod, err := kafkaio.NewProducer(kafkatest.Config(brokers, 1), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)

	// The processor lists each bidder once (the schema's uniqueItems).
	good, other := sold(), unsold()
	good.ItemID, other.ItemID = fmt.Sprintf("item-a-%d", run), fmt.Sprintf("item-b-%d", run)
	good.Bidders = slices.Compact(slices.Sorted(slices.Values(good.Bidders)))
	noWinner := good
	noWinner.ItemID, noWinner.WinnerID = fmt.Sprintf("item-c-%d", run), ""
	msgs := []cekafka.Message{
		completion(t, "done-0", good.ItemID, good),
		completion(t, "done-1", other.ItemID, good), // good's completion under other's key
		completion(t, "done-2", noWinner.ItemID, noWinner),
		completion(t, "done-3", other.ItemID, other),
	}
	recs := make([]kafkaio.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = kafkaio.Record{Topic: topic, Message: m}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := prod.Write(ctx, recs...); err != nil {
		t.Fatal(err)
	}

	mailer := &fakeMailer{}
	n := notify.New(notify.Deps{Outbox: notify.NewMemory(), Mailer: mailer, Users: directory(t), Now: clock()})
	out := &recorder{}
	tr, err := trigger.New(trigger.Config{
		Kafka: kafkatest.Config(brokers, 1), Group: fmt.Sprintf("notify-%d", run), Topics: []string{topic},
		Name: "notify", DeadLetter: prod, DeadLetterTopic: dlq, Log: slog.New(slog.DiscardHandler),
	}, trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, out, n.OnCompleted))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tr.Run(runCtx) }()
	deadline := time.Now().Add(time.Minute)
	for st := tr.Stats(); st.Processed+st.DeadLettered < int64(len(msgs)); st = tr.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("trigger stats %+v: want %d records processed or dead-lettered", st, len(msgs))
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case err := <-done:
			t.Fatalf("trigger stopped: %v", err)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	letters := kafkatest.ReadN(t, brokers, dlq, 2, time.Minute)
	for i, want := range []struct{ offset, errHas string }{{"1", "under key"}, {"2", "invalid " + schemas.TypeItemCompleted}} {
		l := letters[i]
		header := func(k string) string { v, _ := l.Header(k); return string(v) }
		if header(schemas.HeaderDLQTopic) != topic || header(schemas.HeaderDLQPartition) != "0" ||
			header(schemas.HeaderDLQOffset) != want.offset || header(schemas.HeaderDLQConsumer) != "notify" ||
			!strings.Contains(header(schemas.HeaderDLQError), want.errHas) {
			t.Errorf("dead letter %d: origin %s/%s@%s by %s, error %q; want %s/0@%s by notify, an error mentioning %q",
				i, header(schemas.HeaderDLQTopic), header(schemas.HeaderDLQPartition), header(schemas.HeaderDLQOffset),
				header(schemas.HeaderDLQConsumer), header(schemas.HeaderDLQError), topic, want.offset, want.errHas)
		}
		if string(l.Value) != string(msgs[i+1].Value) || string(l.Key) != string(msgs[i+1].Key) {
			t.Errorf("dead letter %d: got key %q and another value, want the original record", i, l.Key)
		}
	}

	// sold: ada won, bob and cy lost, sam sold; unsold: bob and cy lost, sam unsold.
	causes := map[string][]string{}
	for _, e := range out.events(t) {
		s := e.Data.(*schemas.NotificationSent)
		cause, _ := e.Event.Extensions()[schemas.ExtCausationID].(string)
		if e.Event.Source() != notify.Source || e.Event.ID() != s.NotificationID || e.Event.Subject() != s.ItemID {
			t.Errorf("notification %s: source %s subject %s, want %s and the item", e.Event.ID(), e.Event.Source(), e.Event.Subject(), notify.Source)
		}
		causes[cause] = append(causes[cause], s.UserID+":"+string(s.Kind))
	}
	for _, c := range causes {
		slices.Sort(c)
	}
	want := map[string][]string{
		"done-0": {"ada:won", "bob:lost", "cy:lost", "sam:sold"},
		"done-3": {"bob:lost", "cy:lost", "sam:unsold"},
	}
	if fmt.Sprint(causes) != fmt.Sprint(want) {
		t.Errorf("notifications by cause: got %v, want %v", causes, want)
	}
	if got := len(mailer.recipients()); got != 7 {
		t.Errorf("emails: got %d, want 7 (none for the refused completions)", got)
	}
}

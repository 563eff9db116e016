package kafkaload_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/bench/loadgen/kafkaload"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBaseline(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := kafkaload.RunBaseline(ctx, kafkaload.BaselineConfig{
		Kafka: kafkatest.Config(brokers, 3), Records: 3000, Batch: 500, Writers: 2, Keys: 50}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if b.RecordBytes < 300 {
		t.Errorf("got %d bytes per record, want the size of a real bid event (several hundred)", b.RecordBytes)
	}
	for name, tp := range map[string]kafkaload.Throughput{"produce": b.Produce, "consume": b.Consume, "both": b.ProduceConsume} {
		if tp.Records != 3000 || tp.PerSecond <= 0 || tp.Elapsed <= 0 {
			t.Errorf("%s: got %+v, want 3000 records at a positive rate", name, tp)
		}
	}
}

// TestObserver feeds the result topics events with known timestamps and
// checks the latencies the observer derives from them.
func TestObserver(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	cfg := kafkatest.Config(brokers, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	p, err := kafkaio.NewProducer(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	publish := func(topic, typ, id, item string, at time.Time, data any) {
		t.Helper()
		e, err := schemas.NewEvent(typ, schemas.Meta{ID: id, Source: "/test", Subject: item, Time: at}, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.PublishEvents(ctx, topic, []event.Event{e}...); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	// Written before the observer starts: never seen.
	publish(schemas.TopicBidResults, schemas.TypeBidAccepted, "old.result", "item-a", base.Add(time.Hour),
		schemas.BidAccepted{BidID: "old", ItemID: "item-a", BidderID: "u", Amount: schemas.Money{Amount: 1, Currency: "EUR"}, PlacedAt: base, DecidedAt: base})

	o, err := kafkaload.NewObserver(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	o.Track("item-a")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(runCtx) }()

	money := schemas.Money{Amount: 1000, Currency: "EUR"}
	for i, d := range []time.Duration{2, 4, 6, 8} { // ms from placedAt to verdict
		placed := base.Add(time.Duration(i) * time.Second)
		at := placed.Add(d * time.Millisecond)
		id := string(rune('a' + i))
		if i%2 == 0 {
			publish(schemas.TopicBidResults, schemas.TypeBidAccepted, id+".result", "item-a", at,
				schemas.BidAccepted{BidID: id, ItemID: "item-a", BidderID: "u", Amount: money, PlacedAt: placed, DecidedAt: at, BidCount: 1})
		} else {
			publish(schemas.TopicBidResults, schemas.TypeBidRejected, id+".result", "item-a", at,
				schemas.BidRejected{BidID: id, ItemID: "item-a", BidderID: "u", Amount: money, Reason: schemas.ReasonBelowIncrement, PlacedAt: placed, DecidedAt: at})
		}
	}
	// A redelivered verdict and an untracked item's verdict are not counted.
	publish(schemas.TopicBidResults, schemas.TypeBidAccepted, "a.result", "item-a", base.Add(time.Minute),
		schemas.BidAccepted{BidID: "a", ItemID: "item-a", BidderID: "u", Amount: money, PlacedAt: base, DecidedAt: base})
	publish(schemas.TopicBidResults, schemas.TypeBidAccepted, "z.result", "item-z", base.Add(time.Minute),
		schemas.BidAccepted{BidID: "z", ItemID: "item-z", BidderID: "u", Amount: money, PlacedAt: base, DecidedAt: base})
	// The auction closes 40 ms after endsAt+grace; the close-due came 15 ms late.
	ends := base.Add(time.Minute)
	closeAt := ends.Add(10 * time.Second)
	publish(schemas.TopicItemComplete, schemas.TypeItemCompleted, "item-a.completed", "item-a", closeAt.Add(40*time.Millisecond),
		schemas.ItemCompleted{ItemID: "item-a", SellerID: "s", Title: "t", Category: "c", Bidders: []string{}, EndsAt: ends, ClosedAt: closeAt.Add(40 * time.Millisecond)})
	publish(schemas.TopicBids, schemas.TypeCloseDue, "item-a.close", "item-a", closeAt.Add(15*time.Millisecond),
		schemas.CloseDue{ItemID: "item-a", EndsAt: ends, CloseAt: closeAt})

	if err := o.Wait(ctx, 4, 1); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r := o.Result()
	if r.Decided != 4 || r.Verdict.Count != 4 {
		t.Errorf("got %d decided (%d latencies), want 4", r.Decided, r.Verdict.Count)
	}
	near := func(got, want time.Duration) bool { return got >= want-want/500 && got <= want+want/500 }
	if !near(r.Verdict.Min, 2*time.Millisecond) || !near(r.Verdict.Max, 8*time.Millisecond) {
		t.Errorf("got verdict latencies %s, want 2ms to 8ms", r.Verdict)
	}
	if r.Completed != 1 || !near(r.Close.Max, 40*time.Millisecond) || !near(r.CloseDue.Max, 15*time.Millisecond) {
		t.Errorf("got %d completed, close %s, close-due %s; want 1, 40ms, 15ms", r.Completed, r.Close, r.CloseDue)
	}
	// Four verdicts from the first placedAt (base) to the last verdict (3 s + 8 ms).
	if want := 4 / 3.008; r.DecidedPerSecond < want*0.999 || r.DecidedPerSecond > want*1.001 {
		t.Errorf("got %.4f decided/s, want %.4f", r.DecidedPerSecond, want)
	}
}

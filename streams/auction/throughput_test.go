package auction_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// BenchmarkProcessorOnBroker is the processor alone on a broker (embedded,
// or $KAFKA_BROKERS): each iteration writes a burst of bids to 16 open
// items, 1,000 records to a produce call, and waits until the processor
// has decided all of them. bids/s is the processor's rate with nothing
// else on the machine but the broker and this producer; the load
// generator's pipeline figure is the same with the whole platform beside it.
func BenchmarkProcessorOnBroker(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a Kafka broker (embedded or $KAFKA_BROKERS)")
	}
	const items, burst = 16, 10_000
	brokers := kafkatest.Cluster(b)
	cfg := kafkatest.Config(brokers, 6)
	cfg.ClientID = "auction-bench"
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		b.Fatalf("ensure topics: %v", err)
	}
	p, err := auction.New(auction.Config{Kafka: cfg, Log: log, Storage: auction.ScratchStorage(b.TempDir())})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- p.Run(runCtx, func() { close(ready) }) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			b.Errorf("processor: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		b.Fatalf("processor stopped: %v", err)
	case <-ctx.Done():
		b.Fatal("processor not ready")
	}
	prod, err := kafkaio.NewProducer(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()

	run := runToken()
	now := time.Now().UTC()
	item := goldenItem(b)
	its := make([]schemas.ItemPlaced, items)
	var evs []event.Event
	for i := range its {
		its[i] = item
		its[i].ItemID = fmt.Sprintf("0193f5a1-7c1e-7b4a-9a3e-%012x%s", i, run)
		its[i].EndsAt = now.Add(time.Hour)
		evs = append(evs, newCloudEvent(b, schemas.TypeItemPlaced, "evt-"+its[i].ItemID, its[i].ItemID, its[i]))
	}
	if err := prod.PublishEvents(ctx, schemas.TopicItems, evs...); err != nil {
		b.Fatal(err)
	}
	drained(b, ctx, p)

	n := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		evs = evs[:0]
		for range burst {
			it := its[n%items]
			bd := mkBid(it, fmt.Sprintf("0193f5a1-%04x-7b4a-9a3e-%012x%s", n%0xffff, n, run), fmt.Sprintf("0193f5a0-0000-7000-8000-%012x", n%8),
				it.StartingPrice.Amount+int64(n)*it.MinIncrement.Amount, now.Add(time.Duration(n)*time.Microsecond))
			bd.Amount.Currency = it.StartingPrice.Currency
			evs = append(evs, newCloudEvent(b, schemas.TypeBidPlaced, "evt-"+bd.BidID, it.ItemID, bd))
			n++
		}
		b.StartTimer()
		for i := 0; i < len(evs); i += 1000 {
			if err := prod.PublishEvents(ctx, schemas.TopicBids, evs[i:min(i+1000, len(evs))]...); err != nil {
				b.Fatal(err)
			}
		}
		drained(b, ctx, p)
	}
	b.ReportMetric(float64(b.N*burst)/b.Elapsed().Seconds(), "bids/s")
	b.StopTimer()

	// Every bid was accepted: the figure is of real decisions.
	view, err := auction.NewView(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	viewDone := make(chan error, 1)
	go func() { viewDone <- view.Run(runCtx) }()
	defer func() { stop(); <-viewDone }()
	for _, it := range its {
		if s := pollView(b, view, it.ItemID, viewDone); s.BidCount == 0 {
			b.Fatalf("item %s: no bid accepted", it.ItemID)
		}
	}
	if s := pollView(b, view, its[0].ItemID, viewDone); s.Recent[len(s.Recent)-1].Reason != "" {
		b.Fatalf("the last bid on %s was refused: %+v", its[0].ItemID, s.Recent[len(s.Recent)-1])
	}
}

// drained waits until the processor has read every record of its inputs.
func drained(b *testing.B, ctx context.Context, p *auction.Processor) {
	b.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		lags := p.Lags(ctx)
		behind := len(lags) == 0
		for _, l := range lags {
			behind = behind || l.Records > 0
		}
		if !behind {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("processor still behind: %v", lags)
		case <-tick.C:
		}
	}
}

func newCloudEvent(t testing.TB, eventType, id, subject string, data any) event.Event {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{ID: id, Source: schemas.Source + "/test", Subject: subject, Time: time.Now()}, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

package live_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/live"
)

// TestVerdictAfterReady: a verdict written once the hub is ready reaches
// whoever expects its bid, and an update of the item its watchers; what was
// on the topics before is not replayed.
func TestVerdictAfterReady(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	for _, topic := range []string{schemas.TopicBidResults, schemas.TopicItemComplete} {
		kafkatest.CatalogTopic(t, brokers, topic, 3)
	}
	cfg := kafkatest.Config(brokers, 3)
	log := slog.New(slog.DiscardHandler)
	p, err := kafkaio.NewProducer(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	suffix := fmt.Sprint(time.Now().UnixNano())
	item, old, bid := "item-"+suffix, "old-"+suffix, "bid-"+suffix
	accepted := func(bidID string) {
		t.Helper()
		now := time.Now().UTC()
		e, err := schemas.NewEvent(schemas.TypeBidAccepted, schemas.Meta{
			ID: bidID, Source: schemas.Source + "/test", Subject: item, Time: now,
		}, schemas.BidAccepted{BidID: bidID, ItemID: item, BidderID: "u-1",
			Amount: schemas.Money{Amount: 100, Currency: "EUR"}, PlacedAt: now, DecidedAt: now, BidCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.PublishEvents(ctx, schemas.TopicBidResults, e); err != nil {
			t.Fatal(err)
		}
	}
	accepted(old) // before the hub starts: never seen

	hub := live.New(cfg, log)
	oldVerdict, cancelOld := hub.Expect(old)
	defer cancelOld()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	}()
	select {
	case <-hub.Ready():
	case err := <-done:
		t.Fatalf("Run returned %v before it was ready", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hub not ready within 30s")
	}

	verdict, cancel := hub.Expect(bid)
	defer cancel()
	updates, unwatch := hub.Watch(item)
	defer unwatch()
	accepted(bid)
	select {
	case u := <-verdict:
		if u.Accepted == nil || u.Accepted.BidID != bid {
			t.Fatalf("verdict: got %+v, want bid %s accepted", u, bid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no verdict within 30s")
	}
	select {
	case u := <-updates:
		if u.Accepted == nil || u.Accepted.BidID != bid {
			t.Fatalf("update of item %s: got %+v, want bid %s accepted", item, u, bid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no update within 30s")
	}
	select {
	case u := <-oldVerdict:
		t.Fatalf("verdict written before Run: got %+v, want it not replayed", u)
	default:
	}
}

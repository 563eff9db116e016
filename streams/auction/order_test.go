package auction_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/functions/closer"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/streams/auction"
)

// TestCloseNeverOvertakesBids is the wrong-winner case seen after a broker
// restart: hundreds of bids are acknowledged on auction.bids while the
// processor is away, then the real closer writes the item's close-due, and
// only then does a processor start and catch up. When the close-due had a
// topic of its own, goka read it next to the backlog of bids and closed the
// auction ahead of most of them, refusing them auction_closed and selling
// to an early bidder at a fraction of the price. Now every bid written
// before the close-due counts, the winner is the last of them, bids that
// reach auction.bids after it are refused however they were stamped (the
// grace period is over for them), and a second close-due from a restarted
// closer completes nothing again.
func TestCloseNeverOvertakesBids(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kafka broker (embedded or $KAFKA_BROKERS)")
	}
	brokers := kafkatest.Cluster(t)
	cfg := kafkatest.Config(brokers, 3)
	cfg.ClientID = "auction-order-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	prod := newFailoverProducer(t, cfg)
	start := time.Now().UTC()
	clock := newFailoverClock(start)

	token := runToken()
	item := itemWithID(t, "itm-order"+token)
	ours := []string{item.ItemID}
	item.PlacedAt = start
	item.EndsAt = start.Add(3 * time.Second)
	item.StartingPrice = schemas.Money{Amount: 1000, Currency: "GBP"}
	item.MinIncrement = schemas.Money{Amount: 100, Currency: "GBP"}
	item.ReservePrice = nil
	publish(t, ctx, prod, schemas.TopicItems, itemEvent(t, clock, item))

	// Rising bids, all stamped before endsAt and acknowledged before it.
	const early, late = 400, 5
	bidders := []string{"usr_o1", "usr_o2", "usr_o3"}
	bid := func(i int, amount int64, placed time.Time) schemas.BidPlaced {
		return mkBid(item, fmt.Sprintf("bid-%03d%s", i, token), bidders[i%len(bidders)], amount, placed)
	}
	var evs []event.Event
	for i := range early {
		evs = append(evs, bidEvent(t, clock, bid(i, 1000+int64(i)*100, start.Add(time.Duration(i)*time.Millisecond))))
	}
	for i := 0; i < len(evs); i += 50 {
		publish(t, ctx, prod, schemas.TopicBids, evs[i:min(i+50, len(evs))]...)
	}

	// The closer writes the close-due at endsAt (no grace), behind them.
	startCloser(t, ctx, cfg, "auction-order-closer-a"+token)
	dues, after := awaitCloseDues(t, brokers, ours, 1)
	if after[0] != early {
		t.Fatalf("got the close-due after %d bids, want it after all %d acknowledged before it", after[0], early)
	}

	// Bids stamped before endsAt that reach auction.bids after the close-due.
	evs = evs[:0]
	for i := early; i < early+late; i++ {
		evs = append(evs, bidEvent(t, clock, bid(i, 1_000_000, item.EndsAt.Add(-time.Millisecond))))
	}
	publish(t, ctx, prod, schemas.TopicBids, evs...)

	// Only now does a processor start, with the whole backlog before it.
	clock.Set(item.EndsAt.Add(time.Minute))
	startFailoverProcessor(t, ctx, "processor", cfg, clock)

	got := map[string]verdict{}
	for _, r := range readAll(t, brokers, schemas.TopicBidResults, 3, ours, early+late) {
		v := decodeVerdict(t, r)
		if _, dup := got[v.BidID]; dup {
			t.Fatalf("got a second verdict for %s, want one per bid", v.BidID)
		}
		got[v.BidID] = v
	}
	for i := range early + late {
		b := bid(i, 0, start)
		v, ok := got[b.BidID]
		switch {
		case !ok:
			t.Fatalf("%s: got no verdict, want one", b.BidID)
		case i < early && (v.Type != schemas.TypeBidAccepted || v.BidCount != i+1):
			t.Fatalf("%s, written before the close-due: got %s %s (bid count %d), want accepted as bid %d",
				b.BidID, v.Type, v.Reason, v.BidCount, i+1)
		case i >= early && (v.Type != schemas.TypeBidRejected || v.Reason != schemas.ReasonAuctionClosed):
			t.Fatalf("%s, written after the close-due: got %s %s, want rejected %s",
				b.BidID, v.Type, v.Reason, schemas.ReasonAuctionClosed)
		}
	}
	done := readAll(t, brokers, schemas.TopicItemComplete, 3, ours, 1)
	if len(done) != 1 {
		t.Fatalf("got %d completions, want 1", len(done))
	}
	c := decodeCompletion(t, done[0])
	winner := bid(early-1, 1000+int64(early-1)*100, start)
	if !c.Data.Sold || c.Data.WinnerID != winner.Bidder.ID || c.Data.Price == nil || *c.Data.Price != winner.Amount ||
		c.Data.BidCount != early {
		t.Fatalf("got completion %+v, want sold to %s at %s after %d bids", c.Data, winner.Bidder.ID, winner.Amount, early)
	}
	if cause := causationOf(t, done[0]); cause != dues[0] {
		t.Fatalf("completion caused by %q, want the close-due %q", cause, dues[0])
	}

	// A closer of another group (as a restarted closer whose offsets were
	// not committed) reads the item again and writes a second close-due.
	// The processor meets it, then a bid after it; the bid is refused, and
	// the auction still has one completion.
	startCloser(t, ctx, cfg, "auction-order-closer-b"+token)
	if _, after := awaitCloseDues(t, brokers, ours, 2); after[1] != early+late {
		t.Fatalf("got the second close-due after %d bids, want %d", after[1], early+late)
	}
	last := bid(early+late, 2_000_000, item.EndsAt.Add(-time.Millisecond))
	publish(t, ctx, prod, schemas.TopicBids, bidEvent(t, clock, last))
	waitVerdict := kafkatest.ReadKeys(t, brokers, schemas.TopicBidResults, ours, early+late+1, failoverTimeout)
	if v := decodeVerdict(t, waitVerdict[len(waitVerdict)-1]); v.BidID != last.BidID || v.Reason != schemas.ReasonAuctionClosed {
		t.Fatalf("last verdict: got %s %s %s, want %s rejected %s", v.BidID, v.Type, v.Reason, last.BidID, schemas.ReasonAuctionClosed)
	}
	if done := readAll(t, brokers, schemas.TopicItemComplete, 3, ours, 1); len(done) != 1 {
		t.Fatalf("after a second close-due: got %d completions, want 1", len(done))
	}
	view := runTableView(t, ctx, cfg)
	waitFor(t, failoverTimeout, "the auction closed by the first close-due", func() (bool, string) {
		return stateIs(view, item.ItemID, func(s *auction.State) bool {
			return s.Status == auction.StatusClosed && s.Result != nil && s.Result.WinnerID == winner.Bidder.ID
		})
	})
}

// startCloser runs the real closer in group, with no grace period, until t ends.
func startCloser(t *testing.T, ctx context.Context, cfg kafkaio.Config, group string) {
	t.Helper()
	cfg.ClientID = group
	c, err := closer.New(closer.Config{Kafka: cfg, Group: group, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("new closer: %v", err)
	}
	runInBackground(t, ctx, group, c.Run)
}

// awaitCloseDues waits until auction.bids holds n close-dues of keys, and
// returns their event ids in log order and, for each, how many bids came
// before it.
func awaitCloseDues(t *testing.T, brokers, keys []string, n int) (ids []string, after []int) {
	t.Helper()
	waitFor(t, failoverTimeout, fmt.Sprintf("%d close-dues", n), func() (bool, string) {
		ids, after = ids[:0], after[:0]
		bids := 0
		for _, r := range kafkatest.ReadKeys(t, brokers, schemas.TopicBids, keys, 1, failoverTimeout) {
			e, err := decodeRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type() == schemas.TypeCloseDue {
				ids, after = append(ids, e.ID()), append(after, bids)
				continue
			}
			bids++
		}
		return len(ids) >= n, fmt.Sprintf("%d close-dues after %d bids", len(ids), bids)
	})
	return ids, after
}

func decodeRecord(r kafkatest.Record) (event.Event, error) {
	e, err := cekafka.Decode(r.Message)
	if err != nil {
		return event.Event{}, fmt.Errorf("decode %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return e, nil
}

// causationOf is the id of the event that caused r's.
func causationOf(t *testing.T, r kafkatest.Record) string {
	t.Helper()
	e, err := decodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	cause, _ := e.Extensions()[schemas.ExtCausationID].(string)
	return cause
}

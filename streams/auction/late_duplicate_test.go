package auction_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/streams/auction"
)

// TestLateDuplicateOnBroker writes more than RecentVerdicts bids to one
// item, then the first bid again, as a retried request with the same
// Idempotency-Key would (same bid id); then, after a restart with an empty
// local store, the second bid again. Both have left the item's row: each
// must get its first verdict again, identical, never a new one, and its
// bid status must stay what it was.
func TestLateDuplicateOnBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kafka broker (embedded or $KAFKA_BROKERS)")
	}
	brokers := kafkatest.Cluster(t)
	cfg := kafkatest.Config(brokers, 3)
	cfg.ClientID = "auction-late-duplicate-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	clock := newFailoverClock(testNow)
	prod := newFailoverProducer(t, cfg)
	bidView := runBidView(t, ctx, cfg)

	run := runToken()
	item := itemWithID(t, "itm-late-duplicate"+run)
	item.PlacedAt = testNow
	item.EndsAt = testNow.Add(time.Hour)
	ours := []string{item.ItemID}
	bids := risingBids(item, auction.RecentVerdicts+6, testNow)
	for i := range bids {
		bids[i].BidID += run
	}

	p := startFailoverProcessor(t, ctx, "processor", cfg, clock)
	publish(t, ctx, prod, schemas.TopicItems, itemEvent(t, clock, item))
	evs := make([]event.Event, len(bids))
	for i, b := range bids {
		evs[i] = bidEvent(t, clock, b)
	}
	publish(t, ctx, prod, schemas.TopicBids, evs...)
	before := make([]schemas.BidStatus, 2)
	waitFor(t, failoverTimeout, "every bid accepted in auction.bid-status", func() (bool, string) {
		for i, b := range bids {
			st, err := bidView.Bid(b.BidID)
			if err != nil || st == nil || st.Status != schemas.StatusAccepted {
				return false, fmt.Sprintf("%s: status %+v (err %v)", b.BidID, st, err)
			}
			if i < len(before) {
				before[i] = *st
			}
		}
		return true, ""
	})

	// A later clock: a second decision would carry another decidedAt.
	clock.Set(testNow.Add(10 * time.Minute))
	dup := bids[0]
	dup.PlacedAt = clock.Now() // stamped again at the edge
	publish(t, ctx, prod, schemas.TopicBids, bidEvent(t, clock, dup))
	results := waitResults(t, brokers, ours, len(bids)+1)
	assertRedelivered(t, results, bids[0].BidID, 2)
	assertStatusKept(t, bidView, before[0], clock.Now())

	// After a restart from an empty local store, goka recovers the row and
	// auction.bid-status before the duplicate is read.
	if err := p.stop(); err != nil {
		t.Fatalf("stop processor: %v", err)
	}
	startFailoverProcessor(t, ctx, "processor after restart", cfg, clock)
	clock.Set(testNow.Add(20 * time.Minute))
	publish(t, ctx, prod, schemas.TopicBids, bidEvent(t, clock, bids[1]))
	results = waitResults(t, brokers, ours, len(bids)+2)
	assertRedelivered(t, results, bids[0].BidID, 2)
	assertRedelivered(t, results, bids[1].BidID, 2)
	assertStatusKept(t, bidView, before[1], clock.Now())
	// Every other bid: its one verdict, repeated at most.
	for _, b := range bids {
		assertRedelivered(t, results, b.BidID, 1)
	}
}

// bidResult is one record of auction.bid-results: its event id, type and data.
type bidResult struct {
	ID, Type string
	Data     string
}

// waitResults reads the item's verdicts, at least n of them, by bid id.
func waitResults(t *testing.T, brokers, items []string, n int) map[string][]bidResult {
	t.Helper()
	out := map[string][]bidResult{}
	for _, r := range kafkatest.ReadKeys(t, brokers, schemas.TopicBidResults, items, n, failoverTimeout) {
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			t.Fatalf("decode %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		var d struct {
			BidID string `json:"bidId"`
		}
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			t.Fatalf("decode %s: %v", e.ID(), err)
		}
		out[d.BidID] = append(out[d.BidID], bidResult{ID: e.ID(), Type: e.Type(), Data: string(e.Data())})
	}
	return out
}

// assertRedelivered checks that bidID has at least n results, all the same
// accepted verdict under its event id.
func assertRedelivered(t *testing.T, results map[string][]bidResult, bidID string, n int) {
	t.Helper()
	rs := results[bidID]
	if len(rs) < n {
		t.Fatalf("%s: got %d results, want at least %d (the verdict and its re-emission)", bidID, len(rs), n)
	}
	for _, r := range rs {
		if r.Type != schemas.TypeBidAccepted || r.ID != bidID+".result" || r.Data != rs[0].Data {
			t.Fatalf("%s: got %s %s %s after %s, want the first verdict again, accepted", bidID, r.ID, r.Type, r.Data, rs[0].Data)
		}
	}
}

// assertStatusKept waits for the bid's status as written again with the
// re-emitted verdict (at updatedAt) and checks it says what it said before.
func assertStatusKept(t *testing.T, bidView *auction.BidView, before schemas.BidStatus, updatedAt time.Time) {
	t.Helper()
	var got schemas.BidStatus
	waitFor(t, failoverTimeout, "the status of "+before.BidID+" written again", func() (bool, string) {
		st, err := bidView.Bid(before.BidID)
		if err != nil || st == nil || !st.UpdatedAt.Equal(updatedAt) {
			return false, fmt.Sprintf("status %+v (err %v)", st, err)
		}
		got = *st
		return true, ""
	})
	// Only updatedAt, when the record was last written, may differ.
	got.UpdatedAt = before.UpdatedAt
	if !reflect.DeepEqual(got, before) {
		t.Fatalf("%s: got status %+v, want it unchanged %+v", before.BidID, got, before)
	}
}

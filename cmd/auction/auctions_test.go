package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
)

// TestFiftyAuctions runs 50 auctions end to end on the embedded platform:
// items over HTTP, two bidders bidding concurrently on each, the closer
// closing them at endsAt + grace, and the processor deciding. Every winner
// and price must equal what a reference model computes from the accepted
// bids, and every auction must complete exactly once.
func TestFiftyAuctions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real auctions of 10 s")
	}
	p := startPlatform(t, map[string]string{"AUCTION_CLOSE_GRACE": "300ms", "AUCTION_RATE_LIMIT": "0"})
	seller := p.token(t, "alice@example.com")
	bidders := map[string]string{"u-bob": p.token(t, "bob@example.com"), "u-carol": p.token(t, "carol@example.com")}

	const auctions = 50
	items := make([]string, auctions)
	for i := range items {
		reserve := ""
		if i%5 == 0 {
			reserve = `,"reservePrice":100000000` // out of reach: these stay unsold
		}
		items[i] = placeItem(t, p, seller, fmt.Sprintf(
			`{"title":"Lot %d","category":"lots","currency":"EUR","startingPrice":1000%s,"durationSeconds":10}`, i, reserve))
	}

	// One item is watched live until it completes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := watch(t, ctx, p.base+"/v1/items/"+items[1]+"/events")

	type sent struct{ bidID, bidder, itemID string }
	var (
		mu   sync.Mutex
		bids []sent
		wg   sync.WaitGroup
	)
	for i, item := range items {
		for bidder, token := range bidders {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, 7))
				amount := 1000
				for range 8 {
					amount += 10 + rng.IntN(200) // some land below the increment, some race the other bidder
					status, body := bid(t, p, token, item, fmt.Sprint(amount), "")
					if status != http.StatusAccepted {
						t.Errorf("bid on %s: got %d %s, want 202", item, status, body)
						return
					}
					var b struct{ BidID string }
					_ = json.Unmarshal([]byte(body), &b)
					mu.Lock()
					bids = append(bids, sent{b.BidID, bidder, item})
					mu.Unlock()
				}
			}(uint64(i*2 + len(bidder)))
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// Reference model: per item, the highest accepted amount wins, if the
	// reserve is met.
	type status struct {
		Status, ItemID, BidderID string
		Amount                   int64
	}
	best := map[string]status{}
	accepted := 0
	for _, b := range bids {
		var st status
		deadline := time.Now().Add(20 * time.Second)
		for get(t, p.base+"/v1/bids/"+b.bidID, &st) != http.StatusOK || st.Status == "pending" {
			if time.Now().After(deadline) {
				t.Fatalf("bid %s undecided after 20 s", b.bidID)
			}
			<-time.After(20 * time.Millisecond)
		}
		if st.BidderID != b.bidder || st.ItemID != b.itemID {
			t.Fatalf("bid %s: got %+v, want %s on %s", b.bidID, st, b.bidder, b.itemID)
		}
		if st.Status == "accepted" {
			accepted++
			if st.Amount > best[st.ItemID].Amount {
				best[st.ItemID] = st
			}
		}
	}
	t.Logf("%d bids sent, %d accepted", len(bids), accepted)

	type result struct {
		Sold     bool
		WinnerID string
		Price    *int64
	}
	var item struct {
		Status   string
		BidCount int
		Result   *result
	}
	for i, id := range items {
		deadline := time.Now().Add(30 * time.Second)
		for get(t, p.base+"/v1/items/"+id, &item) != http.StatusOK || item.Status != "closed" {
			if time.Now().After(deadline) {
				t.Fatalf("item %s not closed 30 s after the bidding", id)
			}
			<-time.After(50 * time.Millisecond)
		}
		want, hasBid := best[id]
		wantSold := hasBid && i%5 != 0
		r := item.Result
		switch {
		case r == nil:
			t.Fatalf("item %s closed without a result", id)
		case r.Sold != wantSold:
			t.Fatalf("item %s: got sold=%v, want %v", id, r.Sold, wantSold)
		case wantSold && (r.WinnerID != want.BidderID || r.Price == nil || *r.Price != want.Amount):
			t.Fatalf("item %s: got winner %s at %v, want %s at %d", id, r.WinnerID, r.Price, want.BidderID, want.Amount)
		}
	}

	// The watcher saw the completion, and the stream ended with it.
	for {
		ev := next(t, events)
		if ev.name == "item-completed" {
			if !strings.Contains(ev.data, items[1]) {
				t.Fatalf("completion event: got %s, want item %s", ev.data, items[1])
			}
			break
		}
	}
	// Exactly one completion per item on auction.item-complete.
	if n := kafkatest.Count(t, p.brokers, schemas.TopicItemComplete, 3); n != auctions {
		t.Fatalf("records on %s: got %d, want %d", schemas.TopicItemComplete, n, auctions)
	}
	completions := map[string]int{}
	for _, r := range kafkatest.ReadN(t, p.brokers, schemas.TopicItemComplete, auctions, 30*time.Second) {
		completions[string(r.Key)]++
	}
	for _, id := range items {
		if completions[id] != 1 {
			t.Fatalf("item %s: got %d completion records, want 1", id, completions[id])
		}
	}
}

package auction_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// The golden item: seller usr_5f3a9c, starting price 150000 GBP, reserve
// 220000 GBP, minimum increment 2500 GBP, ends 2025-03-21T18:00:00Z.

// contractValidator is built once: compiling the schemas is the slow part.
var contractValidator = sync.OnceValues(schemas.NewValidator)

// assertContract checks every output against the event contract: its data
// validates against the JSON Schema of its type, and its topic and id are
// the ones its type implies.
func assertContract(t testing.TB, outs []auction.Output) {
	t.Helper()
	v, err := contractValidator()
	if err != nil {
		t.Fatalf("schemas.NewValidator: got %v, want nil", err)
	}
	for i, o := range outs {
		b, err := json.Marshal(o.Data)
		if err != nil {
			t.Fatalf("output %d: marshal %T: got %v, want nil", i, o.Data, err)
		}
		if err := v.Validate(o.Type, b); err != nil {
			t.Fatalf("output %d (%s): got %v, want valid data %s", i, o.Type, err, b)
		}
		var wantTopic, wantID string
		switch d := o.Data.(type) {
		case schemas.BidAccepted:
			wantTopic, wantID = schemas.TopicBidResults, d.BidID+".result"
			if o.Type != schemas.TypeBidAccepted {
				t.Fatalf("output %d: got type %q for %T, want %q", i, o.Type, d, schemas.TypeBidAccepted)
			}
		case schemas.BidRejected:
			wantTopic, wantID = schemas.TopicBidResults, d.BidID+".result"
			if o.Type != schemas.TypeBidRejected {
				t.Fatalf("output %d: got type %q for %T, want %q", i, o.Type, d, schemas.TypeBidRejected)
			}
		case schemas.ItemExtended:
			wantTopic, wantID = schemas.TopicItems, d.BidID+".extended"
			if o.Type != schemas.TypeItemExtended {
				t.Fatalf("output %d: got type %q for %T, want %q", i, o.Type, d, schemas.TypeItemExtended)
			}
		case schemas.ItemCompleted:
			wantTopic, wantID = schemas.TopicItemComplete, d.ItemID+".completed"
			if o.Type != schemas.TypeItemCompleted {
				t.Fatalf("output %d: got type %q for %T, want %q", i, o.Type, d, schemas.TypeItemCompleted)
			}
		default:
			t.Fatalf("output %d: got data %T, want a bid result or an item completion", i, o.Data)
		}
		if o.Topic != wantTopic || o.ID != wantID {
			t.Fatalf("output %d: got topic %q id %q, want topic %q id %q", i, o.Topic, o.ID, wantTopic, wantID)
		}
	}
}

// decide is Decide plus the contract check of what it emitted.
func decide(t testing.TB, s auction.State, in auction.Input, now time.Time) (auction.State, []auction.Output) {
	t.Helper()
	got, outs := auction.Decide(s, in, now)
	assertContract(t, outs)
	return got, outs
}

// mkBid is a GBP bid on item by bidder.
func mkBid(item schemas.ItemPlaced, id, bidder string, amount int64, placedAt time.Time) schemas.BidPlaced {
	return schemas.BidPlaced{
		BidID: id, ItemID: item.ItemID,
		Bidder:   schemas.Party{ID: bidder, Name: "Bidder " + bidder, Location: "GB-LON"},
		Amount:   schemas.Money{Amount: amount, Currency: "GBP"},
		PlacedAt: placedAt,
	}
}

// openWith opens the golden item and applies bids, each decided one second
// after it was placed, requiring every bid to be accepted.
func openWith(t testing.TB, item schemas.ItemPlaced, bids ...schemas.BidPlaced) auction.State {
	t.Helper()
	s, outs := decide(t, auction.State{}, auction.Input{Item: &item}, item.PlacedAt)
	if len(outs) != 0 {
		t.Fatalf("open: got outputs %+v, want none", outs)
	}
	for _, b := range bids {
		var outs []auction.Output
		s, outs = decide(t, s, auction.Input{Bid: &b}, b.PlacedAt.Add(time.Second))
		if len(outs) != 1 || outs[0].Type != schemas.TypeBidAccepted {
			t.Fatalf("setup bid %s: got %+v, want it accepted", b.BidID, outs)
		}
	}
	return s
}

// closeItem closes s's auction at now and returns the new state and outputs.
func closeItem(t testing.TB, s auction.State, item schemas.ItemPlaced, now time.Time) (auction.State, []auction.Output) {
	t.Helper()
	c := schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt.Add(time.Minute)}
	return decide(t, s, auction.Input{EventID: "close-" + item.ItemID, Close: &c}, now)
}

// deepCopyState copies s so that nothing in the copy shares memory with s.
func deepCopyState(s auction.State) auction.State {
	c := s
	if s.Item != nil {
		item := *s.Item
		if item.ReservePrice != nil {
			r := *item.ReservePrice
			item.ReservePrice = &r
		}
		c.Item = &item
	}
	if s.Highest != nil {
		h := *s.Highest
		c.Highest = &h
	}
	c.Bidders = slices.Clone(s.Bidders)
	c.Recent = slices.Clone(s.Recent)
	c.Pending = slices.Clone(s.Pending)
	if s.Result != nil {
		r := *s.Result
		r.Bidders = slices.Clone(s.Result.Bidders)
		if r.Price != nil {
			p := *r.Price
			r.Price = &p
		}
		c.Result = &r
	}
	return c
}

// verdictOf is the status of s's recent verdict on bidID, "" if it has none.
func verdictOf(s auction.State, bidID string) string {
	v, ok := s.Verdict(bidID)
	if !ok {
		return ""
	}
	return v.Status()
}

func TestDecideBidAccepted(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	now := placed.Add(time.Second)

	tests := []struct {
		name        string
		prior       []schemas.BidPlaced
		bid         schemas.BidPlaced
		wantCount   int
		wantBidders []string
		// wantOutbid is the bid of another bidder that bid overtakes.
		wantOutbid *schemas.Outbid
	}{
		{
			name:        "first bid at the starting price",
			bid:         mkBid(item, "bid-1", "alice", 150000, placed),
			wantCount:   1,
			wantBidders: []string{"alice"},
		},
		{
			name:        "first bid above the starting price",
			bid:         mkBid(item, "bid-1", "alice", 199999, placed),
			wantCount:   1,
			wantBidders: []string{"alice"},
		},
		{
			name:        "exactly highest plus the minimum increment",
			prior:       []schemas.BidPlaced{mkBid(item, "bid-1", "alice", 160000, placed)},
			bid:         mkBid(item, "bid-2", "bob", 162500, placed),
			wantCount:   2,
			wantBidders: []string{"alice", "bob"},
			wantOutbid: &schemas.Outbid{BidID: "bid-1", BidderID: "alice",
				Amount: schemas.Money{Amount: 160000, Currency: "GBP"}, Title: item.Title},
		},
		{
			name:        "a bidder raising their own bid is listed once",
			prior:       []schemas.BidPlaced{mkBid(item, "bid-1", "alice", 150000, placed)},
			bid:         mkBid(item, "bid-2", "alice", 152500, placed),
			wantCount:   2,
			wantBidders: []string{"alice"},
		},
		{
			name: "bidders keep the order of their first bid",
			prior: []schemas.BidPlaced{
				mkBid(item, "bid-1", "alice", 150000, placed),
				mkBid(item, "bid-2", "bob", 152500, placed),
			},
			bid:         mkBid(item, "bid-3", "alice", 160000, placed),
			wantCount:   3,
			wantBidders: []string{"alice", "bob"},
			wantOutbid: &schemas.Outbid{BidID: "bid-2", BidderID: "bob",
				Amount: schemas.Money{Amount: 152500, Currency: "GBP"}, Title: item.Title},
		},
		{
			name:        "placed one nanosecond before the end",
			bid:         mkBid(item, "bid-1", "alice", 150000, item.EndsAt.Add(-time.Nanosecond)),
			wantCount:   1,
			wantBidders: []string{"alice"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, item, tc.prior...)
			got, outs := decide(t, s, auction.Input{EventID: "evt-" + tc.bid.BidID, Bid: &tc.bid}, now)

			if len(outs) != 1 {
				t.Fatalf("got %d outputs %+v, want 1", len(outs), outs)
			}
			wantOut := auction.Output{
				Topic: schemas.TopicBidResults, Type: schemas.TypeBidAccepted, ID: tc.bid.BidID + ".result",
				Data: schemas.BidAccepted{
					BidID: tc.bid.BidID, ItemID: item.ItemID, BidderID: tc.bid.Bidder.ID, Amount: tc.bid.Amount,
					PlacedAt: tc.bid.PlacedAt, DecidedAt: now, BidCount: tc.wantCount, Outbid: tc.wantOutbid,
				},
			}
			if !reflect.DeepEqual(outs[0], wantOut) {
				t.Fatalf("got output %+v, want %+v", outs[0], wantOut)
			}
			wantHighest := &auction.Bid{BidID: tc.bid.BidID, BidderID: tc.bid.Bidder.ID, Amount: tc.bid.Amount, PlacedAt: tc.bid.PlacedAt}
			if !reflect.DeepEqual(got.Highest, wantHighest) {
				t.Fatalf("got highest %+v, want %+v", got.Highest, wantHighest)
			}
			if got.BidCount != tc.wantCount {
				t.Fatalf("got bid count %v, want %v", got.BidCount, tc.wantCount)
			}
			if !slices.Equal(got.Bidders, tc.wantBidders) {
				t.Fatalf("got bidders %v, want %v", got.Bidders, tc.wantBidders)
			}
			if v := verdictOf(got, tc.bid.BidID); v != auction.VerdictAccepted {
				t.Fatalf("got verdict %q, want %q", v, auction.VerdictAccepted)
			}
			if got.Status != auction.StatusOpen {
				t.Fatalf("got status %v, want %v", got.Status, auction.StatusOpen)
			}
			if got.Version != s.Version+1 {
				t.Fatalf("got version %v, want %v", got.Version, s.Version+1)
			}
		})
	}
}

func TestDecideBidRejected(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	leader := mkBid(item, "bid-lead", "bob", 160000, placed)

	eur := mkBid(item, "bid-x", "alice", 160000, placed)
	eur.Amount.Currency = "EUR"
	seller := mkBid(item, "bid-x", item.Seller.ID, 200000, placed)
	seller.Bidder.Name = item.Seller.Name

	tests := []struct {
		name       string
		prior      []schemas.BidPlaced
		closed     bool
		bid        schemas.BidPlaced
		now        time.Time
		wantReason schemas.RejectReason
	}{
		{
			name:       "placed exactly at endsAt",
			bid:        mkBid(item, "bid-x", "alice", 200000, item.EndsAt),
			now:        item.EndsAt.Add(time.Second),
			wantReason: schemas.ReasonTooLate,
		},
		{
			name:       "placed exactly at endsAt and decided at endsAt",
			prior:      []schemas.BidPlaced{leader},
			bid:        mkBid(item, "bid-x", "alice", 200000, item.EndsAt),
			now:        item.EndsAt,
			wantReason: schemas.ReasonTooLate,
		},
		{
			name:       "placed one nanosecond after endsAt",
			prior:      []schemas.BidPlaced{leader},
			bid:        mkBid(item, "bid-x", "alice", 200000, item.EndsAt.Add(time.Nanosecond)),
			now:        item.EndsAt.Add(time.Second),
			wantReason: schemas.ReasonTooLate,
		},
		{
			name:       "placed an hour after endsAt",
			bid:        mkBid(item, "bid-x", "alice", 200000, item.EndsAt.Add(time.Hour)),
			now:        item.EndsAt.Add(time.Hour),
			wantReason: schemas.ReasonTooLate,
		},
		{
			name:       "the seller bids on their own item",
			bid:        seller,
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonOwnItem,
		},
		{
			name:       "the seller outbids the leader on their own item",
			prior:      []schemas.BidPlaced{leader},
			bid:        seller,
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonOwnItem,
		},
		{
			name:       "another currency",
			prior:      []schemas.BidPlaced{leader},
			bid:        eur,
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonCurrencyMismatch,
		},
		{
			name:       "one below the starting price",
			bid:        mkBid(item, "bid-x", "alice", 149999, placed),
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonBelowStart,
		},
		{
			name:       "zero",
			bid:        mkBid(item, "bid-x", "alice", 0, placed),
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonBelowStart,
		},
		{
			name:       "highest plus the minimum increment minus one",
			prior:      []schemas.BidPlaced{leader},
			bid:        mkBid(item, "bid-x", "alice", 162499, placed),
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonBelowIncrement,
		},
		{
			name:       "equal to the highest",
			prior:      []schemas.BidPlaced{leader},
			bid:        mkBid(item, "bid-x", "alice", 160000, placed),
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonBelowIncrement,
		},
		{
			name:       "the leader raising by less than the increment",
			prior:      []schemas.BidPlaced{leader},
			bid:        mkBid(item, "bid-x", "bob", 161000, placed),
			now:        placed.Add(time.Second),
			wantReason: schemas.ReasonBelowIncrement,
		},
		{
			name:       "after the close, a bid placed before endsAt",
			prior:      []schemas.BidPlaced{leader},
			closed:     true,
			bid:        mkBid(item, "bid-x", "alice", 300000, placed),
			now:        item.EndsAt.Add(2 * time.Minute),
			wantReason: schemas.ReasonAuctionClosed,
		},
		{
			name:       "after the close of an auction without bids",
			closed:     true,
			bid:        mkBid(item, "bid-x", "alice", 300000, placed),
			now:        item.EndsAt.Add(2 * time.Minute),
			wantReason: schemas.ReasonAuctionClosed,
		},
		{
			name:       "after the close, a bid placed after endsAt is late, not merely after the close",
			prior:      []schemas.BidPlaced{leader},
			closed:     true,
			bid:        mkBid(item, "bid-x", "alice", 300000, item.EndsAt.Add(time.Second)),
			now:        item.EndsAt.Add(2 * time.Minute),
			wantReason: schemas.ReasonTooLate,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, item, tc.prior...)
			if tc.closed {
				var outs []auction.Output
				s, outs = closeItem(t, s, item, item.EndsAt.Add(time.Minute))
				if len(outs) != 1 {
					t.Fatalf("close: got outputs %+v, want 1", outs)
				}
			}
			before := deepCopyState(s)
			got, outs := decide(t, s, auction.Input{EventID: "evt-" + tc.bid.BidID, Bid: &tc.bid}, tc.now)

			if len(outs) != 1 {
				t.Fatalf("got %d outputs %+v, want 1", len(outs), outs)
			}
			o := outs[0]
			if o.Topic != schemas.TopicBidResults || o.Type != schemas.TypeBidRejected || o.ID != tc.bid.BidID+".result" {
				t.Fatalf("got output %s/%s/%s, want %s/%s/%s", o.Topic, o.Type, o.ID,
					schemas.TopicBidResults, schemas.TypeBidRejected, tc.bid.BidID+".result")
			}
			rej, ok := o.Data.(schemas.BidRejected)
			if !ok {
				t.Fatalf("got data %T, want schemas.BidRejected", o.Data)
			}
			if rej.Reason != tc.wantReason {
				t.Fatalf("got reason %v, want %v", rej.Reason, tc.wantReason)
			}
			if rej.Detail == "" {
				t.Fatalf("got empty detail, want an explanation of %v", tc.wantReason)
			}
			rej.Detail = ""
			wantRej := schemas.BidRejected{
				BidID: tc.bid.BidID, ItemID: item.ItemID, BidderID: tc.bid.Bidder.ID, Amount: tc.bid.Amount,
				Reason: tc.wantReason, PlacedAt: tc.bid.PlacedAt, DecidedAt: tc.now,
			}
			if !reflect.DeepEqual(rej, wantRej) {
				t.Fatalf("got rejection %+v, want %+v", rej, wantRej)
			}
			if !reflect.DeepEqual(got.Highest, before.Highest) {
				t.Fatalf("got highest %+v, want it unchanged %+v", got.Highest, before.Highest)
			}
			if got.BidCount != before.BidCount || !slices.Equal(got.Bidders, before.Bidders) {
				t.Fatalf("got count %v bidders %v, want unchanged %v %v", got.BidCount, got.Bidders, before.BidCount, before.Bidders)
			}
			if got.Status != before.Status || !reflect.DeepEqual(got.Result, before.Result) {
				t.Fatalf("got status %v result %+v, want unchanged %v %+v", got.Status, got.Result, before.Status, before.Result)
			}
			if v := verdictOf(got, tc.bid.BidID); v != string(tc.wantReason) {
				t.Fatalf("got verdict %q, want %q", v, tc.wantReason)
			}
		})
	}
}

// TestDecideBidGracePeriod: a bid placed before endsAt that arrives after
// endsAt but before the close still counts, and wins the auction.
func TestDecideBidGracePeriod(t *testing.T) {
	item := goldenItem(t)
	s := openWith(t, item, mkBid(item, "bid-1", "alice", 200000, item.EndsAt.Add(-time.Hour)))
	late := mkBid(item, "bid-2", "bob", 230000, item.EndsAt.Add(-time.Millisecond))
	arrived := item.EndsAt.Add(30 * time.Second)

	s, outs := decide(t, s, auction.Input{Bid: &late}, arrived)
	if len(outs) != 1 || outs[0].Type != schemas.TypeBidAccepted {
		t.Fatalf("got outputs %+v, want the late-arriving bid accepted", outs)
	}
	if acc := outs[0].Data.(schemas.BidAccepted); !acc.DecidedAt.Equal(arrived) || acc.BidCount != 2 {
		t.Fatalf("got decidedAt %v bidCount %v, want %v 2", acc.DecidedAt, acc.BidCount, arrived)
	}
	if s.Highest == nil || s.Highest.BidID != "bid-2" {
		t.Fatalf("got highest %+v, want bid-2", s.Highest)
	}
	closedAt := item.EndsAt.Add(time.Minute)
	s, outs = closeItem(t, s, item, closedAt)
	if len(outs) != 1 {
		t.Fatalf("got outputs %+v, want one completion", outs)
	}
	res := outs[0].Data.(schemas.ItemCompleted)
	if !res.Sold || res.WinnerID != "bob" || res.Price == nil || res.Price.Amount != 230000 {
		t.Fatalf("got %+v, want sold to bob for 230000", res)
	}
	if s.Status != auction.StatusClosed {
		t.Fatalf("got status %v, want %v", s.Status, auction.StatusClosed)
	}
}

func TestDecideBidDuplicate(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	now := placed.Add(time.Second)

	tests := []struct {
		name        string
		prior       []schemas.BidPlaced
		first       schemas.BidPlaced
		again       schemas.BidPlaced
		wantVerdict string
	}{
		{
			name:        "accepted bid redelivered",
			first:       mkBid(item, "bid-1", "alice", 150000, placed),
			again:       mkBid(item, "bid-1", "alice", 150000, placed),
			wantVerdict: auction.VerdictAccepted,
		},
		{
			name:        "accepted bid redelivered with a higher amount",
			first:       mkBid(item, "bid-1", "alice", 150000, placed),
			again:       mkBid(item, "bid-1", "alice", 900000, placed),
			wantVerdict: auction.VerdictAccepted,
		},
		{
			name:        "rejected bid redelivered",
			first:       mkBid(item, "bid-1", "alice", 100, placed),
			again:       mkBid(item, "bid-1", "alice", 100, placed),
			wantVerdict: string(schemas.ReasonBelowStart),
		},
		{
			name:        "rejected bid redelivered when it would now be accepted",
			prior:       []schemas.BidPlaced{mkBid(item, "bid-0", "bob", 160000, placed)},
			first:       mkBid(item, "bid-1", "alice", 161000, placed),
			again:       mkBid(item, "bid-1", "alice", 500000, placed),
			wantVerdict: string(schemas.ReasonBelowIncrement),
		},
		{
			name:        "too-late bid redelivered",
			first:       mkBid(item, "bid-1", "alice", 200000, item.EndsAt),
			again:       mkBid(item, "bid-1", "alice", 200000, item.EndsAt),
			wantVerdict: string(schemas.ReasonTooLate),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, item, tc.prior...)
			s, first := decide(t, s, auction.Input{Bid: &tc.first}, now)
			if len(first) != 1 {
				t.Fatalf("first delivery: got outputs %+v, want 1", first)
			}
			if v := verdictOf(s, tc.first.BidID); v != tc.wantVerdict {
				t.Fatalf("first delivery: got verdict %q, want %q", v, tc.wantVerdict)
			}
			want := deepCopyState(s)
			got, outs := decide(t, s, auction.Input{Bid: &tc.again}, now.Add(time.Second))
			// The verdict event is emitted again, identical (same id, same
			// data, same decision time): it may be the one a crash lost.
			if !reflect.DeepEqual(outs, first) {
				t.Fatalf("second delivery: got outputs %+v, want the first verdict again %+v", outs, first)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("second delivery: got state %+v, want %+v", got, want)
			}
		})
	}
}

func TestDecideEarlyBids(t *testing.T) {
	item := goldenItem(t)
	base := item.EndsAt.Add(-2 * time.Hour)
	now := item.PlacedAt.Add(time.Minute)

	// Delivered 70, 50, 60; placed 50 < 60 < 70. In placedAt order every bid
	// clears the increment; in arrival order the last two would be refused.
	b70 := mkBid(item, "bid-70", "carol", 155000, base.Add(70*time.Second))
	b50 := mkBid(item, "bid-50", "alice", 150000, base.Add(50*time.Second))
	b60 := mkBid(item, "bid-60", "bob", 152500, base.Add(60*time.Second))

	s := auction.State{}
	var wantPending []schemas.BidPlaced
	for i, b := range []schemas.BidPlaced{b70, b50, b60, b50, b70} {
		var outs []auction.Output
		s, outs = decide(t, s, auction.Input{Bid: &b}, now)
		if len(outs) != 0 {
			t.Fatalf("held bid %d (%s): got outputs %+v, want none", i, b.BidID, outs)
		}
		if s.Status != auction.StatusAwaitingItem {
			t.Fatalf("held bid %d (%s): got status %q, want %q", i, b.BidID, s.Status, auction.StatusAwaitingItem)
		}
		if i < 3 {
			wantPending = append(wantPending, b)
		}
		if !reflect.DeepEqual(s.Pending, wantPending) {
			t.Fatalf("held bid %d (%s): got pending %v, want %v", i, b.BidID, s.Pending, wantPending)
		}
		if s.Item != nil || s.Highest != nil || len(s.Recent) != 0 || s.BidCount != 0 {
			t.Fatalf("held bid %d (%s): got state %+v, want nothing decided", i, b.BidID, s)
		}
	}

	s, outs := decide(t, s, auction.Input{Item: &item}, now)
	wantOrder := []schemas.BidPlaced{b50, b60, b70}
	if len(outs) != len(wantOrder) {
		t.Fatalf("got %d outputs %+v, want %d", len(outs), outs, len(wantOrder))
	}
	for i, b := range wantOrder {
		acc, ok := outs[i].Data.(schemas.BidAccepted)
		if !ok {
			t.Fatalf("output %d: got %+v, want %s accepted", i, outs[i].Data, b.BidID)
		}
		want := schemas.BidAccepted{
			BidID: b.BidID, ItemID: item.ItemID, BidderID: b.Bidder.ID, Amount: b.Amount,
			PlacedAt: b.PlacedAt, DecidedAt: now, BidCount: i + 1,
		}
		if i > 0 { // each overtook the one before, in placedAt order
			p := wantOrder[i-1]
			want.Outbid = &schemas.Outbid{BidID: p.BidID, BidderID: p.Bidder.ID, Amount: p.Amount, Title: item.Title}
		}
		if !reflect.DeepEqual(acc, want) {
			t.Fatalf("output %d: got %+v, want %+v", i, acc, want)
		}
	}
	if s.Status != auction.StatusOpen || len(s.Pending) != 0 {
		t.Fatalf("got status %q pending %v, want %q and none held", s.Status, s.Pending, auction.StatusOpen)
	}
	if s.Highest == nil || s.Highest.BidID != "bid-70" || s.BidCount != 3 {
		t.Fatalf("got highest %+v count %v, want bid-70 and 3", s.Highest, s.BidCount)
	}
	if want := []string{"alice", "bob", "carol"}; !slices.Equal(s.Bidders, want) {
		t.Fatalf("got bidders %v, want %v", s.Bidders, want)
	}

	// A held bid redelivered after the item arrived was already decided.
	again, outs := decide(t, s, auction.Input{Bid: &b60}, now.Add(time.Minute))
	if len(outs) != 1 || outs[0].ID != "bid-60.result" || outs[0].Type != schemas.TypeBidAccepted || !reflect.DeepEqual(again, s) {
		t.Fatalf("redelivered held bid: got outputs %+v state %+v, want its verdict again and the state unchanged", outs, again)
	}
}

// TestDecideEarlyBidsRejected: held bids meet the same rules as any other
// when their item arrives, in placedAt order.
func TestDecideEarlyBidsRejected(t *testing.T) {
	item := goldenItem(t)
	base := item.EndsAt.Add(-2 * time.Hour)
	now := item.PlacedAt.Add(time.Minute)

	own := mkBid(item, "bid-own", item.Seller.ID, 300000, base.Add(1*time.Second))
	ok := mkBid(item, "bid-ok", "alice", 160000, base.Add(2*time.Second))
	low := mkBid(item, "bid-low", "bob", 161000, base.Add(3*time.Second))
	late := mkBid(item, "bid-late", "carol", 400000, item.EndsAt)

	s := auction.State{}
	for _, b := range []schemas.BidPlaced{late, low, ok, own} {
		s, _ = decide(t, s, auction.Input{Bid: &b}, now)
	}
	s, outs := decide(t, s, auction.Input{Item: &item}, now)
	want := []struct {
		id     string
		reason schemas.RejectReason // "" for accepted
	}{
		{"bid-own", schemas.ReasonOwnItem},
		{"bid-ok", ""},
		{"bid-low", schemas.ReasonBelowIncrement},
		{"bid-late", schemas.ReasonTooLate},
	}
	if len(outs) != len(want) {
		t.Fatalf("got %d outputs %+v, want %d", len(outs), outs, len(want))
	}
	for i, w := range want {
		switch d := outs[i].Data.(type) {
		case schemas.BidAccepted:
			if w.reason != "" || d.BidID != w.id {
				t.Fatalf("output %d: got %s accepted, want %s %q", i, d.BidID, w.id, w.reason)
			}
		case schemas.BidRejected:
			if d.BidID != w.id || d.Reason != w.reason {
				t.Fatalf("output %d: got %s %q, want %s %q", i, d.BidID, d.Reason, w.id, w.reason)
			}
		}
	}
	if s.Highest == nil || s.Highest.BidID != "bid-ok" || s.BidCount != 1 || !slices.Equal(s.Bidders, []string{"alice"}) {
		t.Fatalf("got highest %+v count %v bidders %v, want bid-ok 1 [alice]", s.Highest, s.BidCount, s.Bidders)
	}
}

func TestDecideClose(t *testing.T) {
	item := goldenItem(t)
	noReserve := goldenItem(t)
	noReserve.ReservePrice = nil
	placed := item.EndsAt.Add(-time.Hour)
	closedAt := item.EndsAt.Add(time.Minute)

	completed := func(it schemas.ItemPlaced, sold bool, winner string, price int64, reserveMet bool, count int, bidders []string, at time.Time) *schemas.ItemCompleted {
		r := &schemas.ItemCompleted{
			ItemID: it.ItemID, SellerID: it.Seller.ID, Title: it.Title, Category: it.Category,
			Sold: sold, WinnerID: winner, ReserveMet: reserveMet, BidCount: count, Bidders: bidders,
			EndsAt: it.EndsAt, ClosedAt: at,
		}
		if sold {
			r.Price = &schemas.Money{Amount: price, Currency: "GBP"}
		}
		return r
	}

	tests := []struct {
		name  string
		item  schemas.ItemPlaced
		state func(t *testing.T) auction.State
		close schemas.CloseDue
		now   time.Time
		want  *schemas.ItemCompleted // nil: a no-op
	}{
		{
			name:  "close-due before endsAt",
			state: func(t *testing.T) auction.State { return openWith(t, item) },
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt},
			now:   item.EndsAt.Add(-time.Nanosecond),
		},
		{
			name:  "close-due for another end time",
			state: func(t *testing.T) auction.State { return openWith(t, item) },
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt.Add(-time.Hour), CloseAt: closedAt},
			now:   closedAt,
		},
		{
			name:  "close-due for a later end time",
			state: func(t *testing.T) auction.State { return openWith(t, item) },
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt.Add(time.Hour), CloseAt: closedAt},
			now:   item.EndsAt.Add(2 * time.Hour),
		},
		{
			name: "sold above the reserve",
			item: item,
			state: func(t *testing.T) auction.State {
				return openWith(t, item,
					mkBid(item, "bid-1", "alice", 150000, placed),
					mkBid(item, "bid-2", "bob", 200000, placed),
					mkBid(item, "bid-3", "alice", 250000, placed))
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(item, true, "alice", 250000, true, 3, []string{"alice", "bob"}, closedAt),
		},
		{
			name: "reserve met exactly",
			item: item,
			state: func(t *testing.T) auction.State {
				return openWith(t, item,
					mkBid(item, "bid-1", "alice", 150000, placed),
					mkBid(item, "bid-2", "bob", 220000, placed))
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(item, true, "bob", 220000, true, 2, []string{"alice", "bob"}, closedAt),
		},
		{
			name: "reserve missed by one",
			item: item,
			state: func(t *testing.T) auction.State {
				return openWith(t, item,
					mkBid(item, "bid-1", "alice", 150000, placed),
					mkBid(item, "bid-2", "bob", 219999, placed))
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(item, false, "", 0, false, 2, []string{"alice", "bob"}, closedAt),
		},
		{
			name:  "no bids",
			item:  item,
			state: func(t *testing.T) auction.State { return openWith(t, item) },
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(item, false, "", 0, false, 0, []string{}, closedAt),
		},
		{
			name: "only rejected bids",
			item: item,
			state: func(t *testing.T) auction.State {
				s := openWith(t, item)
				b := mkBid(item, "bid-1", "alice", 1, placed)
				s, _ = decide(t, s, auction.Input{Bid: &b}, placed)
				return s
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(item, false, "", 0, false, 0, []string{}, closedAt),
		},
		{
			name:  "no reserve and no bids",
			item:  noReserve,
			state: func(t *testing.T) auction.State { return openWith(t, noReserve) },
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(noReserve, false, "", 0, true, 0, []string{}, closedAt),
		},
		{
			name: "no reserve, sold at the starting price",
			item: noReserve,
			state: func(t *testing.T) auction.State {
				return openWith(t, noReserve, mkBid(noReserve, "bid-1", "alice", 150000, placed))
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   closedAt,
			want:  completed(noReserve, true, "alice", 150000, true, 1, []string{"alice"}, closedAt),
		},
		{
			name: "close-due handled exactly at endsAt",
			item: item,
			state: func(t *testing.T) auction.State {
				return openWith(t, item, mkBid(item, "bid-1", "alice", 300000, placed))
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt},
			now:   item.EndsAt,
			want:  completed(item, true, "alice", 300000, true, 1, []string{"alice"}, item.EndsAt),
		},
		{
			name: "close-due handled long after endsAt",
			item: item,
			state: func(t *testing.T) auction.State {
				return openWith(t, item, mkBid(item, "bid-1", "alice", 300000, placed))
			},
			close: schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: closedAt},
			now:   item.EndsAt.Add(72 * time.Hour),
			want:  completed(item, true, "alice", 300000, true, 1, []string{"alice"}, item.EndsAt.Add(72*time.Hour)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.state(t)
			before := deepCopyState(s)
			got, outs := decide(t, s, auction.Input{EventID: "evt-close", Close: &tc.close, Offset: 7}, tc.now)

			if tc.want == nil {
				if len(outs) != 0 {
					t.Fatalf("got outputs %+v, want none", outs)
				}
				if !reflect.DeepEqual(got, before) {
					t.Fatalf("got state %+v, want unchanged %+v", got, before)
				}
				return
			}
			wantOut := auction.Output{
				Topic: schemas.TopicItemComplete, Type: schemas.TypeItemCompleted,
				ID: tc.item.ItemID + ".completed", Data: *tc.want,
			}
			if len(outs) != 1 {
				t.Fatalf("got %d outputs %+v, want exactly 1", len(outs), outs)
			}
			if !reflect.DeepEqual(outs[0], wantOut) {
				t.Fatalf("got output %+v, want %+v", outs[0], wantOut)
			}
			if res := outs[0].Data.(schemas.ItemCompleted); res.Bidders == nil {
				t.Fatalf("got bidders nil, want a non-nil slice")
			}
			if got.Status != auction.StatusClosed || !reflect.DeepEqual(got.Result, tc.want) {
				t.Fatalf("got status %q result %+v, want %q %+v", got.Status, got.Result, auction.StatusClosed, tc.want)
			}
			if !reflect.DeepEqual(got.Highest, before.Highest) || got.BidCount != before.BidCount {
				t.Fatalf("got highest %+v count %v, want unchanged %+v %v", got.Highest, got.BidCount, before.Highest, before.BidCount)
			}

			// The same record delivered again (a crash before its offset
			// was committed) changes nothing and re-emits the same
			// completion, in case the crash lost it.
			closed := deepCopyState(got)
			first := outs
			again, outs := decide(t, got, auction.Input{EventID: "evt-close", Close: &tc.close, Offset: 7}, tc.now.Add(time.Hour))
			if !reflect.DeepEqual(outs, first) {
				t.Fatalf("redelivered close-due: got outputs %+v, want the first completion again %+v", outs, first)
			}
			if !reflect.DeepEqual(again, closed) {
				t.Fatalf("redelivered close-due: got state %+v, want %+v", again, closed)
			}
			// Another close-due record (a restarted closer sends one
			// again) emits nothing: one completion per auction.
			again, outs = decide(t, got, auction.Input{EventID: "evt-close", Close: &tc.close, Offset: 9}, tc.now.Add(time.Hour))
			if len(outs) != 0 {
				t.Fatalf("second close-due record: got outputs %+v, want none", outs)
			}
			if !reflect.DeepEqual(again, closed) {
				t.Fatalf("second close-due record: got state %+v, want %+v", again, closed)
			}
		})
	}
}

// TestDecidePurity: Decide must not write to anything reachable from the
// state it was given.
func TestDecidePurity(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	now := placed.Add(time.Second)
	open := openWith(t, item,
		mkBid(item, "bid-1", "alice", 150000, placed),
		mkBid(item, "bid-2", "bob", 160000, placed))
	rejectedBefore := mkBid(item, "bid-r", "carol", 1, placed)
	open, _ = decide(t, open, auction.Input{Bid: &rejectedBefore}, now)

	held := auction.State{}
	for _, sec := range []int{70, 50, 60} {
		b := mkBid(item, "bid-"+strconv.Itoa(sec), "user-"+strconv.Itoa(sec), int64(150000+sec*100), placed.Add(time.Duration(sec)*time.Second))
		held, _ = decide(t, held, auction.Input{Bid: &b}, now)
	}

	accept := mkBid(item, "bid-3", "carol", 170000, placed)
	acceptOld := mkBid(item, "bid-3", "alice", 170000, placed)
	reject := mkBid(item, "bid-4", "dave", 150001, placed)
	another := mkBid(item, "bid-5", "erin", 150000, placed)
	dup := mkBid(item, "bid-1", "alice", 150000, placed)
	c := schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt}

	tests := []struct {
		name  string
		state auction.State
		in    auction.Input
		now   time.Time
	}{
		{"accepted bid by a new bidder", open, auction.Input{Bid: &accept}, now},
		{"accepted bid by a known bidder", open, auction.Input{Bid: &acceptOld}, now},
		{"rejected bid", open, auction.Input{Bid: &reject}, now},
		{"duplicate bid", open, auction.Input{Bid: &dup}, now},
		{"close", open, auction.Input{Close: &c}, item.EndsAt},
		{"another held bid", held, auction.Input{Bid: &another}, now},
		{"item releases held bids", held, auction.Input{Item: &item}, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := deepCopyState(tc.state)
			snapshot := deepCopyState(in)
			decide(t, in, tc.in, tc.now)
			if !reflect.DeepEqual(in, snapshot) {
				t.Fatalf("input state after Decide: got %+v, want unchanged %+v", in, snapshot)
			}
		})
	}

	// Spare capacity: two decisions from the same state must not share the
	// backing array of Bidders or Pending.
	t.Run("bidders with spare capacity", func(t *testing.T) {
		base := deepCopyState(open)
		base.Bidders = append(make([]string, 0, 8), base.Bidders...)
		s1, _ := decide(t, base, auction.Input{Bid: &accept}, now)
		other := mkBid(item, "bid-6", "frank", 170000, placed)
		s2, _ := decide(t, base, auction.Input{Bid: &other}, now)
		if want := []string{"alice", "bob", "carol"}; !slices.Equal(s1.Bidders, want) {
			t.Fatalf("got first branch bidders %v, want %v", s1.Bidders, want)
		}
		if want := []string{"alice", "bob", "frank"}; !slices.Equal(s2.Bidders, want) {
			t.Fatalf("got second branch bidders %v, want %v", s2.Bidders, want)
		}
	})
	t.Run("pending with spare capacity", func(t *testing.T) {
		base := deepCopyState(held)
		base.Pending = append(make([]schemas.BidPlaced, 0, 8), base.Pending...)
		b1 := mkBid(item, "bid-x1", "x1", 150000, placed)
		b2 := mkBid(item, "bid-x2", "x2", 150000, placed)
		s1, _ := decide(t, base, auction.Input{Bid: &b1}, now)
		s2, _ := decide(t, base, auction.Input{Bid: &b2}, now)
		if got := s1.Pending[len(s1.Pending)-1].BidID; got != "bid-x1" {
			t.Fatalf("got first branch last pending %v, want bid-x1", got)
		}
		if got := s2.Pending[len(s2.Pending)-1].BidID; got != "bid-x2" {
			t.Fatalf("got second branch last pending %v, want bid-x2", got)
		}
	})
}

// TestDecideBidsAgainstModel replays random bid sequences through Decide
// and compares the outcome with a reference model of the acceptance rule.
func TestDecideBidsAgainstModel(t *testing.T) {
	item := goldenItem(t)
	start, inc, reserve := item.StartingPrice.Amount, item.MinIncrement.Amount, item.ReservePrice.Amount
	bidders := []string{"alice", "bob", "carol", item.Seller.ID}
	rng := rand.New(rand.NewPCG(20250321, 1800))

	type modelBid struct {
		id, bidder, currency string
		amount               int64
		placedAt             time.Time
	}

	var totalAccepted, totalSold int
	defer func() { t.Logf("200 sequences: %d bids accepted, %d items sold", totalAccepted, totalSold) }()
	for seq := range 200 {
		n := 1 + rng.IntN(40)
		bids := make([]schemas.BidPlaced, n)
		for i := range bids {
			id := "bid-" + strconv.Itoa(i)
			if i > 0 && rng.IntN(10) == 0 {
				id = bids[rng.IntN(i)].BidID // a redelivery, possibly with other fields
			}
			// Amounts cluster around the start and the increments, with off-by-ones.
			amount := start - 5000 + int64(rng.IntN(100))*1250 + int64(rng.IntN(3)-1)
			// Mostly before endsAt, about a fifth at or after it.
			placedAt := item.EndsAt.Add(-time.Duration(rng.IntN(3600)) * time.Second)
			if rng.IntN(5) == 0 {
				placedAt = item.EndsAt.Add(time.Duration(rng.IntN(3)) * time.Second)
			}
			bids[i] = mkBid(item, id, bidders[rng.IntN(len(bidders))], amount, placedAt)
			if rng.IntN(12) == 0 {
				bids[i].Amount.Currency = "EUR"
			}
		}

		// The reference model.
		var highest *modelBid
		// outbid is the bid each accepted bid overtook from another bidder.
		outbid := map[string]*modelBid{}
		seen := map[string]bool{}
		wantCount := 0
		wantBidders := []string{}
		for _, b := range bids {
			if seen[b.BidID] {
				continue
			}
			seen[b.BidID] = true
			ok := b.PlacedAt.Before(item.EndsAt) &&
				b.Bidder.ID != item.Seller.ID &&
				b.Amount.Currency == "GBP" &&
				b.Amount.Amount >= start &&
				(highest == nil || b.Amount.Amount >= highest.amount+inc)
			if !ok {
				continue
			}
			if highest != nil && highest.bidder != b.Bidder.ID {
				outbid[b.BidID] = highest
			}
			highest = &modelBid{b.BidID, b.Bidder.ID, b.Amount.Currency, b.Amount.Amount, b.PlacedAt}
			wantCount++
			if !slices.Contains(wantBidders, b.Bidder.ID) {
				wantBidders = append(wantBidders, b.Bidder.ID)
			}
		}

		// Decide, each bid arriving up to a minute after it was placed: some
		// within the grace period after endsAt.
		s, _ := decide(t, auction.State{}, auction.Input{Item: &item}, item.PlacedAt)
		// Every delivery yields one result; a repeated bid id yields the
		// same event as its first delivery (same id and data).
		results := map[string]auction.Output{}
		for _, b := range bids {
			var outs []auction.Output
			s, outs = decide(t, s, auction.Input{Bid: &b}, b.PlacedAt.Add(time.Duration(rng.IntN(60))*time.Second))
			if len(outs) != 1 {
				t.Fatalf("sequence %d: bid %s gave %d results, want 1", seq, b.BidID, len(outs))
			}
			if prev, ok := results[b.BidID]; ok && !reflect.DeepEqual(prev, outs[0]) {
				t.Fatalf("sequence %d: bid %s redelivered gave %+v, want the first result %+v", seq, b.BidID, outs[0], prev)
			}
			results[b.BidID] = outs[0]
			a, ok := outs[0].Data.(schemas.BidAccepted)
			if !ok {
				continue
			}
			switch want := outbid[b.BidID]; {
			case want == nil && a.Outbid != nil:
				t.Fatalf("sequence %d: bid %s outbid %+v, want nobody", seq, b.BidID, *a.Outbid)
			case want != nil && (a.Outbid == nil || *a.Outbid != schemas.Outbid{BidID: want.id, BidderID: want.bidder,
				Amount: schemas.Money{Amount: want.amount, Currency: want.currency}, Title: item.Title}):
				t.Fatalf("sequence %d: bid %s outbid %+v, want %+v", seq, b.BidID, a.Outbid, *want)
			}
		}
		if len(results) != len(seen) {
			t.Fatalf("sequence %d: got results for %d bid ids, want %d", seq, len(results), len(seen))
		}
		switch {
		case highest == nil && s.Highest != nil:
			t.Fatalf("sequence %d: got highest %+v, want none; bids %+v", seq, s.Highest, bids)
		case highest != nil && (s.Highest == nil || s.Highest.BidID != highest.id ||
			s.Highest.BidderID != highest.bidder || s.Highest.Amount.Amount != highest.amount ||
			!s.Highest.PlacedAt.Equal(highest.placedAt)):
			t.Fatalf("sequence %d: got highest %+v, want %+v; bids %+v", seq, s.Highest, *highest, bids)
		}
		if s.BidCount != wantCount || !slices.Equal(s.Bidders, wantBidders) {
			t.Fatalf("sequence %d: got count %v bidders %v, want %v %v", seq, s.BidCount, s.Bidders, wantCount, wantBidders)
		}

		s, outs := closeItem(t, s, item, item.EndsAt.Add(time.Minute))
		if len(outs) != 1 {
			t.Fatalf("sequence %d: got close outputs %+v, want 1", seq, outs)
		}
		res := outs[0].Data.(schemas.ItemCompleted)
		wantSold := highest != nil && highest.amount >= reserve
		if res.Sold != wantSold || res.ReserveMet != wantSold || res.BidCount != wantCount || !slices.Equal(res.Bidders, wantBidders) {
			t.Fatalf("sequence %d: got %+v, want sold=%v count=%v bidders=%v", seq, res, wantSold, wantCount, wantBidders)
		}
		totalAccepted += wantCount
		if wantSold {
			totalSold++
		}
		if wantSold && (res.WinnerID != highest.bidder || res.Price == nil || res.Price.Amount != highest.amount) {
			t.Fatalf("sequence %d: got winner %q price %v, want %q %d", seq, res.WinnerID, res.Price, highest.bidder, highest.amount)
		}
		if s.Status != auction.StatusClosed {
			t.Fatalf("sequence %d: got status %q, want %q", seq, s.Status, auction.StatusClosed)
		}
	}
}

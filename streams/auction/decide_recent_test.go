package auction_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// risingBids are n bids on item, each the minimum increment above the one
// before, from ten bidders in turn, placed a second apart from placed.
func risingBids(item schemas.ItemPlaced, n int, placed time.Time) []schemas.BidPlaced {
	bids := make([]schemas.BidPlaced, n)
	for i := range bids {
		bids[i] = mkBid(item, fmt.Sprintf("bid-%04d", i), fmt.Sprintf("usr_%d", i%10),
			item.StartingPrice.Amount+int64(i)*item.MinIncrement.Amount, placed.Add(time.Duration(i)*time.Second))
	}
	return bids
}

// TestDecideRowStaysBounded: the row keeps the verdicts of the last
// RecentVerdicts bids only, so its encoded size does not grow with the bids
// an item has had.
func TestDecideRowStaysBounded(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-2 * time.Hour)
	bids := risingBids(item, 1000, placed)
	s := openWith(t, item)
	size := map[int]int{}
	for i, b := range bids {
		s, _ = decide(t, s, auction.Input{Bid: &b}, b.PlacedAt)
		if n := i + 1; n == 100 || n == 1000 {
			row, err := json.Marshal(&s)
			if err != nil {
				t.Fatalf("encode the row after %d bids: %v", n, err)
			}
			size[n] = len(row)
		}
	}
	t.Logf("row: %d bytes after 100 bids, %d after 1,000", size[100], size[1000])
	if size[1000] >= 2*size[100] {
		t.Fatalf("got a row of %d bytes after 1,000 bids, want under twice the %d after 100", size[1000], size[100])
	}
	if s.BidCount != 1000 {
		t.Fatalf("got bid count %d, want 1000", s.BidCount)
	}
	if len(s.Recent) != auction.RecentVerdicts {
		t.Fatalf("got %d recent verdicts, want %d", len(s.Recent), auction.RecentVerdicts)
	}
	for i, v := range s.Recent {
		if want := bids[len(bids)-auction.RecentVerdicts+i].BidID; v.BidID != want {
			t.Fatalf("recent verdict %d: got %s, want %s (oldest first)", i, v.BidID, want)
		}
	}
	if _, ok := s.Verdict(bids[len(bids)-auction.RecentVerdicts-1].BidID); ok {
		t.Fatalf("got a verdict on the bid before the window, want it evicted")
	}
}

// TestDecideDuplicateBeyondRecent: a bid redelivered after RecentVerdicts
// newer bids is answered from its bid-status record, as the processor
// looks it up: the same event (id and data) as its first verdict, and no
// change to the state.
func TestDecideDuplicateBeyondRecent(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-2 * time.Hour)
	decidedAt := placed.Add(time.Second)
	later := placed.Add(time.Hour)

	tests := []struct {
		name  string
		first schemas.BidPlaced
		// again is the redelivery: the same bid id, the rest as a retried
		// request that was stamped again at the edge may have it.
		again       schemas.BidPlaced
		wantVerdict string
		// before are bids accepted ahead of first.
		before []schemas.BidPlaced
	}{
		{
			name:        "accepted bid that outbid another bidder",
			before:      []schemas.BidPlaced{mkBid(item, "bid-zed", "zed", 150000, placed.Add(-time.Minute))},
			first:       mkBid(item, "bid-first", "alice", 160000, placed),
			again:       mkBid(item, "bid-first", "alice", 160000, placed),
			wantVerdict: auction.VerdictAccepted,
		},
		{
			name:        "accepted first bid",
			first:       mkBid(item, "bid-first", "alice", 150000, placed),
			again:       mkBid(item, "bid-first", "alice", 150000, placed),
			wantVerdict: auction.VerdictAccepted,
		},
		{
			name:        "accepted first bid, redelivered restamped with another amount",
			first:       mkBid(item, "bid-first", "alice", 150000, placed),
			again:       mkBid(item, "bid-first", "alice", 900000, placed.Add(time.Minute)),
			wantVerdict: auction.VerdictAccepted,
		},
		{
			name:        "rejected first bid",
			first:       mkBid(item, "bid-first", "alice", 100, placed),
			again:       mkBid(item, "bid-first", "alice", 100, placed),
			wantVerdict: string(schemas.ReasonBelowStart),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, item, tc.before...)
			in := auction.Input{EventID: tc.first.BidID, Bid: &tc.first}
			s, first := decide(t, s, in, decidedAt)
			if len(first) != 1 || verdictOf(s, tc.first.BidID) != tc.wantVerdict {
				t.Fatalf("first delivery: got %+v, verdict %q, want one output, %q", first, verdictOf(s, tc.first.BidID), tc.wantVerdict)
			}
			// The record the processor writes to auction.bid-status, as the
			// lookup table gives it back.
			recs := auction.BidStatuses(in, s, first, decidedAt)
			if len(recs) != 1 {
				t.Fatalf("got bid statuses %+v, want 1", recs)
			}
			st := roundTrip(t, recs[0])
			if a, ok := first[0].Data.(schemas.BidAccepted); ok && len(tc.before) > 0 && a.Outbid == nil {
				t.Fatalf("first delivery: got %+v, want it to name the bid it outbid", a)
			}

			for _, b := range risingBids(item, auction.RecentVerdicts, placed.Add(time.Minute)) {
				b.BidID = "later-" + b.BidID
				b.Amount.Amount += 10000 // above the first bid, whatever became of it
				s, _ = decide(t, s, auction.Input{Bid: &b}, b.PlacedAt)
			}
			if _, ok := s.Verdict(tc.first.BidID); ok {
				t.Fatalf("got %s among the recent verdicts after %d newer bids, want it evicted", tc.first.BidID, auction.RecentVerdicts)
			}

			want := deepCopyState(s)
			prior := auction.PriorVerdict(&st, tc.again)
			if prior == nil {
				t.Fatalf("got no prior verdict from %+v, want the first one", st)
			}
			got, outs := decide(t, s, auction.Input{EventID: "again", Bid: &tc.again, Decided: prior}, later)
			if !reflect.DeepEqual(outs, first) {
				t.Fatalf("redelivery: got outputs %+v, want the first verdict again %+v", outs, first)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("redelivery: got state %+v, want it unchanged %+v", got, want)
			}

			// Without the record, the duplicate would be decided afresh: the
			// gap Decide's doc owns up to, for a status not yet looked up.
			_, outs = decide(t, s, auction.Input{EventID: "again", Bid: &tc.again}, later)
			if len(outs) == 1 && reflect.DeepEqual(outs, first) {
				t.Fatalf("redelivery without the prior verdict: got the first verdict, want a new decision")
			}
		})
	}
}

// TestDecideDuplicateWithinRecent: a bid redelivered while its verdict is
// still in the row needs no lookup, and the row's verdict wins over any
// prior one passed in.
func TestDecideDuplicateWithinRecent(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-2 * time.Hour)
	bids := risingBids(item, auction.RecentVerdicts, placed)
	s := openWith(t, item)
	var first []auction.Output
	for i, b := range bids {
		var outs []auction.Output
		s, outs = decide(t, s, auction.Input{Bid: &b}, b.PlacedAt)
		if i == 0 {
			first = outs
		}
	}
	// The oldest verdict the row still holds.
	again := bids[0]
	want := deepCopyState(s)
	got, outs := decide(t, s, auction.Input{Bid: &again}, placed.Add(time.Hour))
	if !reflect.DeepEqual(outs, first) || !reflect.DeepEqual(got, want) {
		t.Fatalf("redelivery: got %+v and a state change %v, want %+v and none", outs, !reflect.DeepEqual(got, want), first)
	}
	wrong := &auction.Verdict{BidID: again.BidID, Reason: schemas.ReasonBelowStart, Detail: "stale", BidderID: "mallory"}
	_, outs = decide(t, s, auction.Input{Bid: &again, Decided: wrong}, placed.Add(time.Hour))
	if !reflect.DeepEqual(outs, first) {
		t.Fatalf("redelivery with another prior verdict: got %+v, want the row's %+v", outs, first)
	}
	// A prior verdict on another bid id is not this bid's.
	fresh := mkBid(item, "bid-fresh", "zoe", 900000, placed)
	other := &auction.Verdict{BidID: "bid-other", Reason: schemas.ReasonBelowStart, Detail: "not this bid"}
	_, outs = decide(t, s, auction.Input{Bid: &fresh, Decided: other}, placed.Add(time.Hour))
	if len(outs) != 1 || outs[0].Type != schemas.TypeBidAccepted {
		t.Fatalf("new bid with another bid's prior verdict: got %+v, want it decided and accepted", outs)
	}
}

// TestDecideRecentDoesNotAlias: two decisions from the same state, its
// window full and with spare capacity, must not share the window's memory.
func TestDecideRecentDoesNotAlias(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-2 * time.Hour)
	s := openWith(t, item, risingBids(item, auction.RecentVerdicts, placed)...)
	s.Recent = append(make([]auction.Verdict, 0, 2*auction.RecentVerdicts), s.Recent...)
	snapshot := deepCopyState(s)
	b1 := mkBid(item, "bid-x1", "x1", 900000, placed)
	b2 := mkBid(item, "bid-x2", "x2", 900000, placed)
	s1, _ := decide(t, s, auction.Input{Bid: &b1}, placed)
	s2, _ := decide(t, s, auction.Input{Bid: &b2}, placed)
	if !reflect.DeepEqual(s, snapshot) {
		t.Fatalf("input state after Decide: got %+v, want unchanged", s.Recent)
	}
	last := func(s auction.State) string { return s.Recent[len(s.Recent)-1].BidID }
	if last(s1) != "bid-x1" || last(s2) != "bid-x2" || len(s1.Recent) != auction.RecentVerdicts {
		t.Fatalf("got last verdicts %s and %s (%d kept), want bid-x1 and bid-x2 (%d)",
			last(s1), last(s2), len(s1.Recent), auction.RecentVerdicts)
	}
}

func TestPriorVerdict(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	decided := placed.Add(time.Second)
	updated := placed.Add(time.Minute)
	bid := mkBid(item, "bid-1", "alice", 150000, placed)
	accepted := schemas.BidStatus{BidID: "bid-1", ItemID: item.ItemID, BidderID: "alice", Amount: bid.Amount,
		Status: schemas.StatusAccepted, UpdatedAt: updated, PlacedAt: placed, DecidedAt: decided, BidCount: 3}
	rejected := accepted
	rejected.Status, rejected.Reason, rejected.Detail, rejected.BidCount = schemas.StatusRejected, schemas.ReasonBelowIncrement, "too low", 0
	legacy := accepted // written before statuses carried placedAt and decidedAt
	legacy.PlacedAt, legacy.DecidedAt = time.Time{}, time.Time{}
	restamped := bid
	restamped.PlacedAt = placed.Add(time.Hour)
	with := func(st schemas.BidStatus, f func(*schemas.BidStatus)) *schemas.BidStatus { f(&st); return &st }

	tests := []struct {
		name string
		st   *schemas.BidStatus
		bid  schemas.BidPlaced
		want *auction.Verdict
	}{
		{name: "no record", bid: bid},
		{name: "pending", st: with(accepted, func(s *schemas.BidStatus) { s.Status = schemas.StatusPending }), bid: bid},
		{name: "a bid of another item", st: with(accepted, func(s *schemas.BidStatus) { s.ItemID = "other" }), bid: bid},
		{name: "another bid", st: with(accepted, func(s *schemas.BidStatus) { s.BidID = "bid-2" }), bid: bid},
		{name: "rejected without a reason", st: with(rejected, func(s *schemas.BidStatus) { s.Reason = "" }), bid: bid},
		{
			name: "accepted", st: &accepted, bid: restamped,
			want: &auction.Verdict{BidID: "bid-1", BidderID: "alice", Amount: bid.Amount, PlacedAt: placed, DecidedAt: decided, BidCount: 3},
		},
		{
			name: "rejected", st: &rejected, bid: bid,
			want: &auction.Verdict{BidID: "bid-1", Reason: schemas.ReasonBelowIncrement, Detail: "too low", BidderID: "alice",
				Amount: bid.Amount, PlacedAt: placed, DecidedAt: decided},
		},
		{
			name: "a record without placedAt and decidedAt", st: &legacy, bid: restamped,
			want: &auction.Verdict{BidID: "bid-1", BidderID: "alice", Amount: bid.Amount, PlacedAt: restamped.PlacedAt, DecidedAt: updated, BidCount: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := auction.PriorVerdict(tc.st, tc.bid); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// roundTrip is st as it comes back from auction.bid-status (JSON).
func roundTrip(t *testing.T, st schemas.BidStatus) schemas.BidStatus {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatalf("encode %+v: %v", st, err)
	}
	var back schemas.BidStatus
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return back
}

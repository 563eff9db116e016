package auction_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// TestDecideCloseBeforeItem: a close-due can reach the processor before its
// item (auction.items lags behind auction.bids). It waits with the held
// bids, in line: bids before it count, bids after it meet a closed auction.
func TestDecideCloseBeforeItem(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	now := item.EndsAt.Add(time.Minute)
	b1 := mkBid(item, "bid-1", "alice", 150000, placed)
	b2 := mkBid(item, "bid-2", "bob", 230000, placed.Add(time.Second))
	b3 := mkBid(item, "bid-3", "carol", 900000, placed.Add(2*time.Second)) // after the close-due in the log
	due := schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt.Add(10 * time.Second)}

	s := auction.State{}
	for i, in := range []auction.Input{
		{EventID: "e1", Bid: &b1, Offset: 1},
		{EventID: "e2", Bid: &b2, Offset: 2},
		{EventID: "close", Close: &due, Offset: 3},
		{EventID: "close", Close: &due, Offset: 4}, // a second one is not held twice
		{EventID: "e3", Bid: &b3, Offset: 5},
	} {
		var outs []auction.Output
		s, outs = decide(t, s, in, now)
		if len(outs) != 0 || s.Status != auction.StatusAwaitingItem {
			t.Fatalf("input %d before the item: got status %q outputs %+v, want awaiting_item and none", i, s.Status, outs)
		}
	}
	if s.HeldClose == nil || s.HeldClose.After != 2 || s.HeldClose.Offset != 3 {
		t.Fatalf("got held close %+v, want one after 2 bids at offset 3", s.HeldClose)
	}

	s, outs := decide(t, s, auction.Input{EventID: "item", Item: &item, Offset: 9}, now)
	var got []string
	for _, o := range outs {
		switch d := o.Data.(type) {
		case schemas.BidAccepted:
			got = append(got, d.BidID+" accepted")
		case schemas.BidRejected:
			got = append(got, fmt.Sprintf("%s %s", d.BidID, d.Reason))
		case schemas.ItemCompleted:
			got = append(got, fmt.Sprintf("completed %s %v cause %s", d.WinnerID, d.Price, o.Cause))
		}
	}
	want := []string{"bid-1 accepted", "bid-2 accepted", "completed bob £2,300.00 cause close", "bid-3 auction_closed"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if s.Status != auction.StatusClosed || s.HeldClose != nil || len(s.Pending) != 0 || s.ClosedBy != 3 {
		t.Fatalf("got status %q held %+v pending %d closedBy %d, want closed by offset 3 with nothing held",
			s.Status, s.HeldClose, len(s.Pending), s.ClosedBy)
	}
	// The held close-due redelivered re-emits the completion; the second
	// one does not.
	if _, outs := decide(t, s, auction.Input{EventID: "close", Close: &due, Offset: 3}, now); len(outs) != 1 {
		t.Fatalf("redelivered held close-due: got %d outputs, want the completion again", len(outs))
	}
	if _, outs := decide(t, s, auction.Input{EventID: "close", Close: &due, Offset: 4}, now); len(outs) != 0 {
		t.Fatalf("second close-due: got %+v, want nothing", outs)
	}
}

// TestDecidePendingBounded: at most MaxPending bids wait for an item; the
// next one is refused with a reason, never dropped, and keeps its verdict.
func TestDecidePendingBounded(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	now := placed.Add(time.Minute)
	s := auction.State{}
	for i := range auction.MaxPending {
		b := mkBid(item, fmt.Sprintf("bid-%d", i), "alice", 150000+int64(i)*2500, placed.Add(time.Duration(i)*time.Millisecond))
		var outs []auction.Output
		if s, outs = decide(t, s, auction.Input{Bid: &b}, now); len(outs) != 0 {
			t.Fatalf("bid %d: got %+v, want it held", i, outs)
		}
	}
	over := mkBid(item, "bid-over", "bob", 900000, placed)
	s, outs := decide(t, s, auction.Input{Bid: &over}, now)
	if len(outs) != 1 {
		t.Fatalf("bid over the bound: got %d outputs, want its rejection", len(outs))
	}
	rej, ok := outs[0].Data.(schemas.BidRejected)
	if !ok || rej.Reason != schemas.ReasonUnknownItem || rej.Detail == "" {
		t.Fatalf("bid over the bound: got %+v, want rejected %s with a detail", outs[0].Data, schemas.ReasonUnknownItem)
	}
	if len(s.Pending) != auction.MaxPending {
		t.Fatalf("got %d pending, want %d", len(s.Pending), auction.MaxPending)
	}
	again, outs := decide(t, s, auction.Input{Bid: &over}, now)
	if len(outs) != 1 || !reflect.DeepEqual(outs[0].Data, rej) || !reflect.DeepEqual(again, s) {
		t.Fatalf("redelivered: got %+v, want the same rejection and no change", outs)
	}
	s, outs = decide(t, s, auction.Input{Item: &item}, now)
	if len(outs) != auction.MaxPending {
		t.Fatalf("item arrived: got %d verdicts, want one per held bid (%d)", len(outs), auction.MaxPending)
	}
	if s.BidCount != auction.MaxPending {
		t.Fatalf("got bid count %d, want %d", s.BidCount, auction.MaxPending)
	}
}

// TestDecideLostTableWrite is a crash the fault suite found: the processor
// decided a bid and its verdict and status were written, but the row's
// table write was lost, so after the restart the row is as before the bid.
// The bid is read again at the same offset; its status says it was
// decided. Taking that as a duplicate left the row without the bid (its
// count, and it could have been the highest); the bid must be applied.
// A duplicate record of it (another offset), or the same record met by a
// row that has applied it, stays a duplicate.
func TestDecideLostTableWrite(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	now := placed.Add(time.Second)
	s, _ := decide(t, auction.State{}, auction.Input{Item: &item}, now)
	first := mkBid(item, "bid-1", "alice", 150000, placed)
	s, _ = decide(t, s, auction.Input{Bid: &first, Offset: 10}, now)
	before := deepCopyState(s)

	b := mkBid(item, "bid-2", "bob", 160000, placed)
	after, outs := decide(t, s, auction.Input{Bid: &b, Offset: 12}, now)
	statuses := auction.BidStatuses(auction.Input{Bid: &b, Offset: 12}, after, outs, now)
	if len(statuses) != 1 || statuses[0].Offset != 12 || after.Applied != 12 {
		t.Fatalf("got statuses %+v and applied %d, want one status at offset 12 and applied 12", statuses, after.Applied)
	}
	prior := auction.PriorVerdict(&statuses[0], b)

	// The crash: the row is still before, the bid comes again at 12.
	again, outs2 := decide(t, before, auction.Input{Bid: &b, Offset: 12, Decided: prior}, now.Add(time.Minute))
	if again.BidCount != after.BidCount || again.Highest == nil || again.Highest.BidID != "bid-2" || again.Applied != 12 {
		t.Fatalf("replayed after a lost table write: got count %d highest %+v applied %d, want %d, bid-2 and 12",
			again.BidCount, again.Highest, again.Applied, after.BidCount)
	}
	if len(outs2) != 1 || outs2[0].ID != outs[0].ID || outs2[0].Type != outs[0].Type {
		t.Fatalf("replayed: got outputs %+v, want the same verdict %+v", outs2, outs)
	}

	// A row that applied the bid and forgot its verdict (beyond Recent)
	// meets a duplicate record of it, or the same record again: the prior
	// verdict, and no change.
	forgot := deepCopyState(after)
	forgot.Recent = nil
	for _, off := range []int64{12, 30} {
		got, outs := decide(t, forgot, auction.Input{Bid: &b, Offset: off, Decided: prior}, now.Add(time.Hour))
		if !reflect.DeepEqual(got, forgot) || len(outs) != 1 {
			t.Fatalf("offset %d on a row that applied it: got state change or outputs %+v, want the prior verdict only", off, outs)
		}
	}
}

// TestWriteReadAgain is what the replicated fault suite found: a close-due
// whose table write failed in a leader failover left the table topic with
// the auction open, while the local store, the completion and the replay
// said closed. Read again after the restart, the close-due changes nothing
// (the auction closed once), so the row must be written all the same;
// records the row has not applied yet, and items, write only a change.
func TestWriteReadAgain(t *testing.T) {
	item := goldenItem(t)
	placed := item.EndsAt.Add(-time.Hour)
	s, _ := decide(t, auction.State{}, auction.Input{Item: &item}, placed)
	b := mkBid(item, "bid-1", "alice", 150000, placed)
	s, _ = decide(t, s, auction.Input{Bid: &b, Offset: 10}, placed)
	closeDue := auction.Input{Close: &schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt}, Offset: 11}
	after := item.EndsAt.Add(time.Second)
	closed, outs := decide(t, s, closeDue, after)
	if closed.Status != auction.StatusClosed || len(outs) != 1 || !auction.Write(s, closed, closeDue) {
		t.Fatalf("first close: got status %s, %d outputs, write %v; want closed, one completion, a write",
			closed.Status, len(outs), auction.Write(s, closed, closeDue))
	}

	tests := []struct {
		name string
		in   auction.Input
		want bool
	}{
		{"the close-due that closed it, read again", closeDue, true},
		{"an earlier bid, read again", auction.Input{Bid: &b, Offset: 10}, true},
		{"a later close-due", auction.Input{Close: closeDue.Close, Offset: 40}, false},
		{"the item, read again", auction.Input{Item: &item, Offset: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, _ := decide(t, closed, tt.in, after.Add(time.Minute))
			if next.Version != closed.Version {
				t.Fatalf("got version %d, want the row unchanged (%d)", next.Version, closed.Version)
			}
			if got := auction.Write(closed, next, tt.in); got != tt.want {
				t.Fatalf("Write: got %v, want %v", got, tt.want)
			}
		})
	}
}

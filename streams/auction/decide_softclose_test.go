package auction_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// softItem is the golden item with a soft close of window and cap.
func softItem(t testing.TB, window, cap time.Duration) schemas.ItemPlaced {
	item := goldenItem(t)
	item.SoftClose = &schemas.SoftClose{WindowSeconds: int(window / time.Second), MaxExtensionSeconds: int(cap / time.Second)}
	return item
}

// extension is the end an accepted bid's outputs move the auction to, and
// whether they do: both the verdict and the auction.item.extended event
// must say it, or neither.
func extension(t *testing.T, outs []auction.Output) (time.Time, bool) {
	t.Helper()
	var verdict, extended time.Time
	for _, o := range outs {
		switch d := o.Data.(type) {
		case schemas.BidAccepted:
			verdict = d.EndsAt
		case schemas.ItemExtended:
			if !extended.IsZero() {
				t.Fatalf("two extensions in %+v", outs)
			}
			extended = d.EndsAt
		}
	}
	if !verdict.Equal(extended) {
		t.Fatalf("the verdict says the end moved to %v, the extension event to %v", verdict, extended)
	}
	return verdict, !verdict.IsZero()
}

// TestDecideSoftClose: with a soft close, an accepted bid in the last
// window moves the end one window later, up to the cap, so a chain of late
// bids keeps the auction open; a bid outside the window, a refused one, or
// one once the cap is reached moves nothing; a bid at or after the end as
// it is now is too late; and the close-due of an end the auction moved on
// from closes nothing, while the one of its last end closes it there.
func TestDecideSoftClose(t *testing.T) {
	const window, cap = 2 * time.Minute, 5 * time.Minute
	item := softItem(t, window, cap)
	end := item.EndsAt
	at := func(d time.Duration) time.Time { return end.Add(d) }

	type step struct {
		bid      schemas.BidPlaced
		accepted bool
		movesTo  time.Duration // from the first end; 0: it does not move
	}
	tests := []struct {
		name    string
		steps   []step
		wantEnd time.Duration
	}{
		{name: "a bid before the window moves nothing", wantEnd: 0, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(-window-time.Second)), true, 0},
		}},
		{name: "a bid at the window's first instant moves the end one window", wantEnd: window, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(-window)), true, window},
		}},
		{name: "a chain of late bids: each in the window of the end before it", wantEnd: 2 * window, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(-time.Second)), true, window},
			// Placed after the first end, in time for the new one.
			{mkBid(item, "b2", "ben", 152500, at(time.Minute)), true, 2 * window},
			// Before the new window: no move.
			{mkBid(item, "b3", "ann", 155000, at(time.Minute+time.Second)), true, 0},
		}},
		{name: "the cap: the last move stops at it, and later bids move nothing", wantEnd: cap, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(-time.Second)), true, window},
			{mkBid(item, "b2", "ben", 152500, at(window-time.Second)), true, 2 * window},
			{mkBid(item, "b3", "ann", 155000, at(2*window-time.Second)), true, cap},
			{mkBid(item, "b4", "ben", 157500, at(cap-time.Second)), true, 0},
		}},
		{name: "a refused bid in the window moves nothing", wantEnd: window, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(-time.Second)), true, window},
			{mkBid(item, "b2", "ben", 150001, at(time.Second)), false, 0}, // below the increment
		}},
		{name: "at or after the end as it is now: too late", wantEnd: window, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(-time.Second)), true, window},
			{mkBid(item, "b2", "ben", 160000, at(window)), false, 0},
		}},
		{name: "without a move, a bid after the first end is too late", wantEnd: 0, steps: []step{
			{mkBid(item, "b1", "ann", 150000, at(time.Nanosecond)), false, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openWith(t, item)
			for _, st := range tc.steps {
				b := st.bid
				var outs []auction.Output
				s, outs = decide(t, s, auction.Input{EventID: b.BidID, Bid: &b}, b.PlacedAt.Add(time.Second))
				if got := outs[0].Type == schemas.TypeBidAccepted; got != st.accepted {
					t.Fatalf("bid %s: got %+v, want accepted=%v", b.BidID, outs[0].Data, st.accepted)
				}
				moved, ok := extension(t, outs)
				switch {
				case st.movesTo == 0 && ok:
					t.Fatalf("bid %s moved the end to %v, want no move", b.BidID, moved)
				case st.movesTo != 0 && !moved.Equal(at(st.movesTo)):
					t.Fatalf("bid %s moved the end to %v, want %v", b.BidID, moved, at(st.movesTo))
				}
				if !st.accepted {
					if r := outs[0].Data.(schemas.BidRejected); b.PlacedAt.Before(s.End()) == (r.Reason == schemas.ReasonTooLate) {
						t.Fatalf("bid %s placed at %v, end %v: got %s", b.BidID, b.PlacedAt, s.End(), r.Reason)
					}
				}
			}
			if want := at(tc.wantEnd); !s.End().Equal(want) {
				t.Fatalf("got end %v, want %v", s.End(), want)
			}

			// The close-due of the first end, after a move: nothing. The
			// one of the last end closes the auction, at that end.
			last := s.End()
			if tc.wantEnd != 0 {
				c := schemas.CloseDue{ItemID: item.ItemID, EndsAt: end, CloseAt: end.Add(10 * time.Second)}
				next, outs := decide(t, s, auction.Input{EventID: "close-first", Close: &c, Offset: 900}, last.Add(time.Hour))
				if len(outs) != 0 || next.Status == auction.StatusClosed {
					t.Fatalf("close-due of the first end after a move: got %+v, status %s; want nothing", outs, next.Status)
				}
			}
			c := schemas.CloseDue{ItemID: item.ItemID, EndsAt: last, CloseAt: last.Add(10 * time.Second)}
			s, outs := decide(t, s, auction.Input{EventID: "close-last", Close: &c, Offset: 901}, last.Add(10*time.Second))
			if len(outs) != 1 || s.Status != auction.StatusClosed {
				t.Fatalf("close-due of the last end: got %+v, status %s; want the completion", outs, s.Status)
			}
			if got := outs[0].Data.(schemas.ItemCompleted).EndsAt; !got.Equal(last) {
				t.Fatalf("completion: got endsAt %v, want the last end %v", got, last)
			}
		})
	}
}

// TestDecideSoftCloseRedelivered: the bid that moved the end, delivered
// again, gives the same two events, from the row or, once it left the row,
// from its bid status; and the state does not move again.
func TestDecideSoftCloseRedelivered(t *testing.T) {
	item := softItem(t, time.Minute, time.Hour)
	b := mkBid(item, "late", "ann", 150000, item.EndsAt.Add(-time.Second))
	in := auction.Input{EventID: "late", Bid: &b, Offset: 7}
	s, first := decide(t, openWith(t, item), in, b.PlacedAt.Add(time.Second))
	if _, ok := extension(t, first); !ok || len(first) != 2 {
		t.Fatalf("got %+v, want the verdict and the extension", first)
	}
	again, outs := decide(t, s, in, b.PlacedAt.Add(time.Minute))
	if !reflect.DeepEqual(outs, first) || !reflect.DeepEqual(again, s) {
		t.Fatalf("redelivery from the row: got %+v, want %+v and no change", outs, first)
	}
	st := roundTrip(t, auction.BidStatuses(in, s, first, b.PlacedAt.Add(time.Second))[0])
	s.Recent = nil // the verdict has left the row
	in.Decided = auction.PriorVerdict(&st, b)
	if _, outs = decide(t, s, in, b.PlacedAt.Add(time.Hour)); !reflect.DeepEqual(outs, first) {
		t.Fatalf("redelivery from the bid status: got %+v, want %+v", outs, first)
	}
}

// TestDecideSoftCloseAgainstModel replays random bids on soft close items,
// many in the last windows and past the first end, through Decide, and
// compares every verdict, every move of the end and the completion with a
// reference model of the rule: in log order, a bid is in time if placed
// before the end as it is then; an accepted one placed within a window of
// that end moves it a window later, to the cap at most. The closer's
// close-dues come for the first end and for every move, as it writes them;
// only the last end's closes the auction.
func TestDecideSoftCloseAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261203, 1))
	moves, lates := 0, 0
	for seq := range 300 {
		window := time.Duration(10+rng.IntN(50)) * time.Second
		cap := window * time.Duration(1+rng.IntN(4))
		item := softItem(t, window, cap)
		item.ReservePrice = nil
		start, inc := item.StartingPrice.Amount, item.MinIncrement.Amount

		// The model.
		end, last := item.EndsAt, item.EndsAt.Add(cap)
		var highest int64
		type want struct {
			accepted bool
			moveTo   time.Time
		}
		var wants []want
		var bids []schemas.BidPlaced
		placed := item.EndsAt.Add(-2 * window)
		for i := range 1 + rng.IntN(30) {
			placed = placed.Add(time.Duration(rng.IntN(int(window/time.Second)+5)) * time.Second)
			amount := start + int64(rng.IntN(4))*inc*int64(i) + int64(rng.IntN(2))
			b := mkBid(item, fmt.Sprintf("b%d", i), fmt.Sprintf("u%d", rng.IntN(3)), amount, placed)
			bids = append(bids, b)
			ok := b.PlacedAt.Before(end) && amount >= start && (highest == 0 || amount >= highest+inc)
			w := want{accepted: ok}
			if ok {
				highest = amount
				if !b.PlacedAt.Before(end.Add(-window)) && end.Before(last) {
					end = end.Add(window)
					if end.After(last) {
						end = last
					}
					w.moveTo = end
				}
			} else if !b.PlacedAt.Before(end) {
				lates++
			}
			wants = append(wants, w)
		}

		// Decide, with the close-dues the closer writes: each placed in
		// the log at its end plus a grace period, after the bids placed
		// before that.
		s := openWith(t, item)
		ends := []time.Time{item.EndsAt}
		closes := func(upTo time.Time) {
			for len(ends) > 0 && !ends[0].Add(5*time.Second).After(upTo) {
				c := schemas.CloseDue{ItemID: item.ItemID, EndsAt: ends[0], CloseAt: ends[0].Add(5 * time.Second)}
				var outs []auction.Output
				s, outs = decide(t, s, auction.Input{EventID: "close", Close: &c, Offset: int64(1000 + len(ends))}, c.CloseAt)
				if len(outs) > 0 && !ends[0].Equal(end) {
					t.Fatalf("sequence %d: the close-due of %v, an end the auction moved on from, closed it: %+v", seq, ends[0], outs)
				}
				ends = ends[1:]
			}
		}
		for i, b := range bids {
			closes(b.PlacedAt)
			var outs []auction.Output
			s, outs = decide(t, s, auction.Input{EventID: b.BidID, Bid: &b, Offset: int64(i + 1)}, b.PlacedAt.Add(time.Second))
			w := wants[i]
			if got := outs[0].Type == schemas.TypeBidAccepted; got != w.accepted && s.Status != auction.StatusClosed {
				t.Fatalf("sequence %d: bid %d placed %v: got %+v, want accepted=%v", seq, i, b.PlacedAt, outs[0].Data, w.accepted)
			}
			if s.Status == auction.StatusClosed {
				continue // the model's later bids are all too late or closed out
			}
			moved, ok := extension(t, outs)
			if ok != !w.moveTo.IsZero() || ok && !moved.Equal(w.moveTo) {
				t.Fatalf("sequence %d: bid %d moved the end to %v (%v), want %v", seq, i, moved, ok, w.moveTo)
			}
			if ok {
				moves++
				ends = append(ends, moved)
			}
		}
		closes(last.Add(time.Hour))
		if s.Status != auction.StatusClosed || s.Result == nil || !s.Result.EndsAt.Equal(end) {
			t.Fatalf("sequence %d: got status %s result %+v, want closed at the model's end %v", seq, s.Status, s.Result, end)
		}
	}
	t.Logf("300 auctions: %d moves of the end, %d bids too late", moves, lates)
}

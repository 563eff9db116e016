package auction

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/auctionflow/auction/schemas"
)

// Input is one event the processor reacts to; exactly one field is set.
type Input struct {
	// EventID is the CloudEvent id, the cause of whatever Decide emits.
	EventID string
	Item    *schemas.ItemPlaced
	Bid     *schemas.BidPlaced
	Close   *schemas.CloseDue
	// Extended is a soft close extension the processor wrote to
	// auction.items, read back: the row has it already, so it changes
	// nothing.
	Extended *schemas.ItemExtended
	// Offset is the record's offset in its partition. A close-due met again
	// at the offset of the one that closed the auction is a redelivery, and
	// its completion is emitted again; any other close-due for a closed
	// auction (a closer that restarted and sent it again) emits nothing.
	Offset int64
	// Decided, with Bid, is the verdict given to that bid before, if the
	// caller found one outside the state (see PriorVerdict): the bid has
	// dropped out of State.Recent, and is a duplicate all the same. Decide
	// treats it as a verdict found in State.Recent.
	Decided *Verdict
}

// Output is an event Decide asks to emit.
type Output struct {
	Topic string
	Type  string
	// ID is deterministic (derived from what caused it), so a replayed input
	// re-emits the same event id and consumers can drop the duplicate.
	ID   string
	Data any
	// Offset, for a verdict, is that of the record it decided (Verdict.Offset).
	Offset int64
	// Cause, if set, is the id of the event that caused this one when that
	// is not the input: a close-due held until its item arrived.
	Cause string
}

// VerdictAccepted is the verdict of an accepted bid (see Verdict.Status).
const VerdictAccepted = "accepted"

// Decide applies in to s at time now and returns the new state and the
// events to emit. It is pure: no I/O, no clock, no goka. The rules:
//
//   - a bid is decided once (by bid id): a bid met again, in State.Recent
//     or as in.Decided, gets its first verdict again; a bid for an item not
//     seen yet is held and decided when the item arrives;
//   - a bid is accepted only while the auction is open, if it was placed
//     (event time, stamped at the edge) before endsAt, by someone other than
//     the seller, in the item's currency, at or above the starting price and
//     at least the minimum increment above the highest bid. A bid placed at
//     or after endsAt is too_late, before the close or after it; one placed
//     in time that meets a closed auction is auction_closed (the timing and
//     own-item rules are schemas.BidTiming and schemas.BidOwnItem, which the
//     edge applies too);
//   - with a soft close (the item's SoftClose), an accepted bid placed in
//     the last window before the end moves the end one window later, up to
//     the item's cap (schemas.SoftCloseEnd): decided in event time, so a
//     chain of late bids extends the auction window by window. The new end
//     rides on the bid's verdict and on an auction.item.extended event,
//     which tells the closer to close later; every rule above and below
//     reads "endsAt" as the end the auction has now (State.End);
//   - a close-due at or after endsAt closes the auction exactly once: sold to
//     the highest bid if the reserve is met, unsold otherwise. Bids placed
//     before endsAt that arrive before the close (within the grace period)
//     still count; after the close every bid is refused. The closer writes
//     close-dues into the partition of auction.bids that holds the item's
//     bids, so "before the close" is log order: every bid written before
//     the close-due is decided before it, however far the processor lags;
//   - a close-due that comes before its item is held with the bids that came
//     before it, and applied in that order when the item arrives;
//   - at most MaxPending bids wait for an item; one more is refused
//     (unknown_item), never silently dropped.
//
// Decided once has one gap: a duplicate that arrives after RecentVerdicts
// newer bids on its item, and before its status reached the caller's copy
// of auction.bid-status (milliseconds after the first decision), is decided
// again.
func Decide(s State, in Input, now time.Time) (State, []Output) {
	switch {
	case in.Item != nil:
		return placeItem(s, *in.Item, now)
	case in.Bid != nil:
		next, outs := placeBid(s, *in.Bid, in.Decided, in.Offset, now)
		return applied(s, next, in.Offset), outs
	case in.Close != nil:
		next, outs := closeDue(s, *in.Close, in.EventID, in.Offset, now)
		return applied(s, next, in.Offset), outs
	}
	return s, nil
}

// Write reports whether the step from before to next, for in, writes the
// row: when it changed, and when in is a record of auction.bids the row
// has already applied, read again (the processor restarted before its
// commit). That row is written again unchanged, because its table write
// may be what the restart cut short: the local store has the newer row, so
// nothing else would write it, and a processor recovering the partition
// from the table topic would find the older one (an auction open that has
// closed).
func Write(before, next State, in Input) bool {
	if next.Version != before.Version {
		return true
	}
	return (in.Bid != nil || in.Close != nil) && before.Version > 0 && in.Offset <= before.Applied
}

// applied records in next that the record at offset changed the row.
func applied(before, next State, offset int64) State {
	if next.Version != before.Version && offset > next.Applied {
		next.Applied = offset
	}
	return next
}

func placeItem(s State, item schemas.ItemPlaced, now time.Time) (State, []Output) {
	if s.Item != nil {
		// The same item delivered twice (a producer retry, a replay) is applied once.
		return s, nil
	}
	s.Item = &item
	s.Status = StatusOpen
	s.Version++
	held, hc := slices.Clone(s.Pending), s.HeldClose
	s.Pending, s.HeldClose = nil, nil
	if hc == nil {
		return decideHeld(s, held, now)
	}
	// A close-due that came before the item splits the held bids: those
	// that came before it count, those after it meet a closed auction.
	s, outs := decideHeld(s, held[:hc.After], now)
	s, closed := closeDue(s, hc.Close, hc.EventID, hc.Offset, now)
	for i := range closed {
		closed[i].Cause = hc.EventID
	}
	s, rest := decideHeld(s, held[hc.After:], now)
	return s, append(append(outs, closed...), rest...)
}

// decideHeld decides bids that waited for their item in event-time order,
// as if they had waited in line.
func decideHeld(s State, held []schemas.BidPlaced, now time.Time) (State, []Output) {
	held = slices.Clone(held)
	sort.SliceStable(held, func(i, j int) bool { return held[i].PlacedAt.Before(held[j].PlacedAt) })
	var outs []Output
	for _, b := range held {
		var o []Output
		s, o = placeBid(s, b, nil, 0, now)
		outs = append(outs, o...)
	}
	return s, outs
}

// placeBid decides b, read at offset; prior is its verdict from outside
// the state, if any.
//
// A prior verdict given to this very record, which the row has not
// applied (its offset is past State.Applied), means a crash lost the table
// write after the verdict went out: the bid is decided again, on the same
// state, to the same verdict, and this time the row keeps its effect.
// Taking the prior verdict as a duplicate's would leave the row without
// the bid (its count, its bidder, perhaps the highest bid).
func placeBid(s State, b schemas.BidPlaced, prior *Verdict, offset int64, now time.Time) (State, []Output) {
	v, decided := s.Verdict(b.BidID)
	lostWrite := prior != nil && prior.Offset != 0 && prior.Offset == offset && offset > s.Applied
	if !decided && prior != nil && prior.BidID == b.BidID && !lostWrite {
		v, decided = *prior, true
	}
	if decided {
		// Decided before: the event that carried the verdict may be what was
		// lost (a crash between the table write and the output write), so
		// it is emitted again, identical, and consumers drop the duplicate.
		return s, v.outputs(b.BidID, b.ItemID, s.Item)
	}
	if s.Item == nil {
		if slices.ContainsFunc(s.Pending, func(p schemas.BidPlaced) bool { return p.BidID == b.BidID }) {
			return s, nil
		}
		if len(s.Pending) >= MaxPending {
			// The row must stay bounded, and a bid must not vanish: it is
			// refused, and its verdict kept for a redelivery.
			s.Version++
			v = Verdict{BidID: b.BidID, BidderID: b.Bidder.ID, Amount: b.Amount, PlacedAt: b.PlacedAt, DecidedAt: now,
				Offset: offset, Reason: schemas.ReasonUnknownItem,
				Detail: fmt.Sprintf("the item has not arrived and %d bids already wait for it", len(s.Pending))}
			s.Recent = remember(s.Recent, v)
			return s, v.outputs(b.BidID, b.ItemID, s.Item)
		}
		s.Pending = append(slices.Clip(s.Pending), b)
		s.Status = StatusAwaitingItem
		s.Version++
		return s, nil
	}
	s.Version++
	v = Verdict{BidID: b.BidID, BidderID: b.Bidder.ID, Amount: b.Amount, PlacedAt: b.PlacedAt, DecidedAt: now, Offset: offset}
	v.Reason, v.Detail = judge(s, b)
	if v.Reason == "" {
		if h := s.Highest; h != nil && h.BidderID != b.Bidder.ID {
			// What the verdict event names of it; its placedAt would only
			// make the row, which keeps RecentVerdicts of these, longer.
			v.Outbid = &Bid{BidID: h.BidID, BidderID: h.BidderID, Amount: h.Amount}
		}
		if end, moved := schemas.SoftCloseEnd(s.Item.SoftClose, s.Item.EndsAt, s.End(), b.PlacedAt); moved {
			s.EndsAt, v.EndsAt = end, end
		}
		s.Highest = &Bid{BidID: b.BidID, BidderID: b.Bidder.ID, Amount: b.Amount, PlacedAt: b.PlacedAt}
		s.BidCount++
		v.BidCount = s.BidCount
		if !slices.Contains(s.Bidders, b.Bidder.ID) {
			s.Bidders = append(slices.Clip(s.Bidders), b.Bidder.ID)
		}
	}
	s.Recent = remember(s.Recent, v)
	return s, v.outputs(b.BidID, b.ItemID, s.Item)
}

// outputs are the events of a verdict on a bid of item (nil while it has
// not arrived): its result, and the extension of the auction's end if it
// moved it. The same verdict always gives the same events.
func (v Verdict) outputs(bidID, itemID string, item *schemas.ItemPlaced) []Output {
	o := Output{Topic: schemas.TopicBidResults, ID: bidID + ".result", Offset: v.Offset}
	if v.Reason != "" {
		o.Type = schemas.TypeBidRejected
		o.Data = schemas.BidRejected{BidID: bidID, ItemID: itemID, BidderID: v.BidderID, Amount: v.Amount,
			Reason: v.Reason, Detail: v.Detail, PlacedAt: v.PlacedAt, DecidedAt: v.DecidedAt}
		return []Output{o}
	}
	o.Type = schemas.TypeBidAccepted
	a := schemas.BidAccepted{BidID: bidID, ItemID: itemID, BidderID: v.BidderID, Amount: v.Amount,
		PlacedAt: v.PlacedAt, DecidedAt: v.DecidedAt, BidCount: v.BidCount, EndsAt: v.EndsAt}
	if ob := v.Outbid; ob != nil {
		a.Outbid = &schemas.Outbid{BidID: ob.BidID, BidderID: ob.BidderID, Amount: ob.Amount}
		if item != nil {
			a.Outbid.Title = item.Title
		}
	}
	o.Data = a
	if v.EndsAt.IsZero() {
		return []Output{o}
	}
	// The closer learns of the new end from auction.items, which it reads.
	return []Output{o, {Topic: schemas.TopicItems, Type: schemas.TypeItemExtended, ID: bidID + ".extended",
		Data: schemas.ItemExtended{ItemID: itemID, EndsAt: v.EndsAt, BidID: bidID}}}
}

// judge returns why b must be refused, or "" to accept it.
func judge(s State, b schemas.BidPlaced) (schemas.RejectReason, string) {
	item := s.Item
	// The rules the edge applies too come from schemas, so both give the
	// same reason for the same bid.
	if r, d := schemas.BidTiming(b.PlacedAt, s.End(), s.Status == StatusClosed); r != "" {
		return r, d
	}
	if r, d := schemas.BidOwnItem(b.Bidder.ID, item.Seller.ID); r != "" {
		return r, d
	}
	switch {
	case b.Amount.Currency != item.StartingPrice.Currency:
		return schemas.ReasonCurrencyMismatch, fmt.Sprintf("the item is sold in %s", item.StartingPrice.Currency)
	case b.Amount.Amount < item.StartingPrice.Amount:
		return schemas.ReasonBelowStart, fmt.Sprintf("the starting price is %s", item.StartingPrice)
	case s.Highest != nil && b.Amount.Amount < s.Highest.Amount.Amount+item.MinIncrement.Amount:
		least := schemas.Money{Amount: s.Highest.Amount.Amount + item.MinIncrement.Amount, Currency: item.StartingPrice.Currency}
		return schemas.ReasonBelowIncrement, fmt.Sprintf("the highest bid is %s; bid at least %s", s.Highest.Amount, least)
	}
	return "", ""
}

func closeDue(s State, c schemas.CloseDue, eventID string, offset int64, now time.Time) (State, []Output) {
	if s.Status == StatusClosed && s.Result != nil {
		if offset == s.ClosedBy {
			// The close-due that closed it, delivered again after a crash:
			// its completion may be what was lost, so it goes out again,
			// with the same event id.
			return s, []Output{completed(*s.Result)}
		}
		// Another close-due (a closer that restarted re-reads open items):
		// the auction closed once and completes once.
		return s, nil
	}
	if s.Item == nil {
		// The item has not arrived yet (its topic lags): the close waits
		// for it, in line after the bids that came before it.
		if s.HeldClose == nil {
			s.HeldClose = &HeldClose{Close: c, EventID: eventID, Offset: offset, After: len(s.Pending)}
			s.Status = StatusAwaitingItem
			s.Version++
		}
		return s, nil
	}
	// A close-due for another end time (one a soft close moved on from),
	// or one that came early: nothing to do.
	if !c.EndsAt.Equal(s.End()) || now.Before(s.End()) {
		return s, nil
	}
	item := s.Item
	var highest *schemas.Money
	if s.Highest != nil {
		highest = &s.Highest.Amount
	}
	reserveMet := schemas.ReserveMet(item.ReservePrice, highest)
	res := schemas.ItemCompleted{
		ItemID: item.ItemID, SellerID: item.Seller.ID, Title: item.Title, Category: item.Category,
		ReserveMet: reserveMet, BidCount: s.BidCount, Bidders: append([]string{}, s.Bidders...),
		EndsAt: s.End(), ClosedAt: now,
	}
	if s.Highest != nil && reserveMet {
		price := s.Highest.Amount
		res.Sold, res.WinnerID, res.Price = true, s.Highest.BidderID, &price
	}
	s.Status = StatusClosed
	s.Result = &res
	s.ClosedBy = offset
	s.Version++
	return s, []Output{completed(res)}
}

func completed(res schemas.ItemCompleted) Output {
	return Output{Topic: schemas.TopicItemComplete, Type: schemas.TypeItemCompleted, ID: res.ItemID + ".completed", Data: res}
}

// BidStatuses derives the bid-status records (see schemas.BidStatus) of one
// step: one per verdict in outs, and "pending" for a bid Decide held because
// its item has not arrived. It is pure, like Decide.
func BidStatuses(in Input, next State, outs []Output, now time.Time) []schemas.BidStatus {
	var recs []schemas.BidStatus
	for _, o := range outs {
		switch d := o.Data.(type) {
		case schemas.BidAccepted:
			recs = append(recs, schemas.BidStatus{BidID: d.BidID, ItemID: d.ItemID, BidderID: d.BidderID,
				Amount: d.Amount, Status: schemas.StatusAccepted, UpdatedAt: now,
				PlacedAt: d.PlacedAt, DecidedAt: d.DecidedAt, BidCount: d.BidCount, Offset: o.Offset,
				Outbid: untitled(d.Outbid), EndsAt: d.EndsAt})
		case schemas.BidRejected:
			recs = append(recs, schemas.BidStatus{BidID: d.BidID, ItemID: d.ItemID, BidderID: d.BidderID,
				Amount: d.Amount, Status: schemas.StatusRejected, Reason: d.Reason, Detail: d.Detail, UpdatedAt: now,
				PlacedAt: d.PlacedAt, DecidedAt: d.DecidedAt, Offset: o.Offset})
		}
	}
	if b := in.Bid; b != nil && next.Item == nil &&
		slices.ContainsFunc(next.Pending, func(p schemas.BidPlaced) bool { return p.BidID == b.BidID }) {
		recs = append(recs, schemas.BidStatus{BidID: b.BidID, ItemID: b.ItemID, BidderID: b.Bidder.ID,
			Amount: b.Amount, Status: schemas.StatusPending, UpdatedAt: now})
	}
	return recs
}

// PriorVerdict is the verdict a bid-status record st says b was given, or
// nil if st records no decision on b: no record, a pending one, or one of a
// bid of another item under the same id. A status carries everything the
// verdict event needs (BidStatuses writes it so); one written before it did
// lacks placedAt and decidedAt, which then come from b and st.UpdatedAt.
func PriorVerdict(st *schemas.BidStatus, b schemas.BidPlaced) *Verdict {
	if st == nil || st.BidID != b.BidID || st.ItemID != b.ItemID {
		return nil
	}
	v := Verdict{BidID: b.BidID, BidderID: st.BidderID, Amount: st.Amount, PlacedAt: st.PlacedAt, DecidedAt: st.DecidedAt,
		Offset: st.Offset}
	switch st.Status {
	case schemas.StatusAccepted:
		v.BidCount, v.EndsAt = st.BidCount, st.EndsAt
		if ob := st.Outbid; ob != nil {
			v.Outbid = &Bid{BidID: ob.BidID, BidderID: ob.BidderID, Amount: ob.Amount}
		}
	case schemas.StatusRejected:
		v.Reason, v.Detail = st.Reason, st.Detail
		if v.Reason == "" {
			return nil // not a rejection this processor wrote
		}
	default:
		return nil
	}
	if v.PlacedAt.IsZero() {
		v.PlacedAt = b.PlacedAt
	}
	if v.DecidedAt.IsZero() {
		v.DecidedAt = st.UpdatedAt
	}
	return &v
}

// untitled is a copy of ob without the item's title, as verdicts and
// bid statuses keep it.
func untitled(ob *schemas.Outbid) *schemas.Outbid {
	if ob == nil {
		return nil
	}
	c := *ob
	c.Title = ""
	return &c
}

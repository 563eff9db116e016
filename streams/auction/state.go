package auction

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/auctionflow/auction/schemas"
)

// Status is where an auction is in its life.
type Status string

const (
	// StatusAwaitingItem: bids arrived before their item; they are held.
	StatusAwaitingItem Status = "awaiting_item"
	StatusOpen         Status = "open"
	StatusClosed       Status = "closed"
)

// State is one auction as the processor knows it: the row of the group table.
type State struct {
	Status Status              `json:"status"`
	Item   *schemas.ItemPlaced `json:"item,omitempty"`
	// Highest is the winning bid so far.
	Highest *Bid `json:"highest,omitempty"`
	// BidCount counts accepted bids.
	BidCount int `json:"bidCount,omitempty"`
	// Bidders lists everyone with an accepted bid, in order of first bid.
	Bidders []string `json:"bidders,omitempty"`
	// Recent holds the verdicts of the item's most recent bids, oldest
	// first, at most RecentVerdicts of them: a redelivered bid meets its
	// verdict here and gets the same result event again, never a new
	// decision. Older verdicts live on in auction.bid-status, where the
	// processor finds them (see Input.Decided). Keeping every verdict here
	// would make the row, which goka decodes, encodes and writes to the table
	// topic on every event, grow with every bid.
	Recent []Verdict `json:"recent,omitempty"`
	// Pending holds bids that arrived before their item, in arrival order.
	Pending []schemas.BidPlaced `json:"pending,omitempty"`
	// HeldClose is a close-due that arrived before the item did.
	HeldClose *HeldClose `json:"heldClose,omitempty"`
	// Result is set when the auction closed.
	Result *schemas.ItemCompleted `json:"result,omitempty"`
	// ClosedBy is the offset, in the item's partition of auction.bids, of
	// the close-due that closed the auction (see Input.Offset).
	ClosedBy int64 `json:"closedBy,omitempty"`
	// Applied is the offset of the last record of the item's partition of
	// auction.bids that changed this row. A decided bid met again at an
	// offset past it was decided but never applied: its table write was
	// lost in a crash (see placeBid).
	Applied int64 `json:"applied,omitempty"`
	// Version counts the events applied, so a reader can tell two states apart.
	Version int64 `json:"version"`
	// EndsAt is the auction's end once a soft close extended it (see
	// schemas.SoftCloseEnd); zero while it is the item's. End reads it.
	EndsAt time.Time `json:"endsAt,omitzero"`
}

// End is when bidding ends: the item's end, or the later one that bids in
// its soft close window moved it to.
func (s State) End() time.Time {
	if !s.EndsAt.IsZero() {
		return s.EndsAt
	}
	if s.Item != nil {
		return s.Item.EndsAt
	}
	return time.Time{}
}

// HeldClose is a close-due waiting for its item, with its place in line:
// After is how many of State.Pending came before it.
type HeldClose struct {
	Close   schemas.CloseDue `json:"close"`
	EventID string           `json:"eventId"`
	Offset  int64            `json:"offset"`
	After   int              `json:"after"`
}

// MaxPending bounds State.Pending, the bids held for an item that has not
// arrived. The gateway takes bids only for items its view of the table
// knows, so only another producer of auction.bids can get here; the bound
// keeps such a producer from growing one row without limit.
const MaxPending = 256

// Bid is an accepted bid as the state keeps it.
type Bid struct {
	BidID    string        `json:"bidId"`
	BidderID string        `json:"bidderId"`
	Amount   schemas.Money `json:"amount"`
	PlacedAt time.Time     `json:"placedAt"`
}

// RecentVerdicts is how many verdicts a row keeps (State.Recent). The
// redeliveries that matter are recent: after a crash or a rebalance the
// processor reads again the input it had not committed, whose statuses are
// nearly all on auction.bid-status already, and a duplicate of an older bid
// is answered from there. The row is decoded and rewritten on every event,
// so its size is a large part of the processor's per-event cost (measured
// with the pipeline under load: the row, then JSON, was ~30% of the
// processor's CPU at 64 verdicts); 32 halves that and still covers a third
// of a second of bids at 100 bids/s on one item. The binary row codec
// (rowcodec.go) writes the row in under a third of its JSON size.
const RecentVerdicts = 32

// Verdict is the decision on one bid, kept so it can be re-emitted
// unchanged when the bid is delivered again.
type Verdict struct {
	BidID     string               `json:"bidId"`
	Reason    schemas.RejectReason `json:"reason,omitempty"` // empty: accepted
	Detail    string               `json:"detail,omitempty"`
	BidderID  string               `json:"bidderId"`
	Amount    schemas.Money        `json:"amount"`
	PlacedAt  time.Time            `json:"placedAt"`
	DecidedAt time.Time            `json:"decidedAt"`
	BidCount  int                  `json:"bidCount,omitempty"` // after acceptance
	// Offset is where the record it decided lies in its partition of
	// auction.bids (0 for a bid held for its item).
	Offset int64 `json:"offset,omitempty"`
	// Outbid, for an accepted bid, is the highest bid it overtook when
	// another bidder placed that (see schemas.BidAccepted.Outbid).
	Outbid *Bid `json:"outbid,omitempty"`
	// EndsAt, for an accepted bid, is the auction's new end when the bid
	// came within its soft close window (zero otherwise).
	EndsAt time.Time `json:"endsAt,omitzero"`
}

// Verdict returns the verdict on bidID if it is among the recent ones.
func (s State) Verdict(bidID string) (Verdict, bool) {
	// Newest first: a redelivery is most likely of a bid just decided.
	for i := len(s.Recent) - 1; i >= 0; i-- {
		if s.Recent[i].BidID == bidID {
			return s.Recent[i], true
		}
	}
	return Verdict{}, false
}

// remember returns recent with v appended, the oldest dropped beyond
// RecentVerdicts. It never writes to recent's backing array, which the
// state Decide was given still uses.
func remember(recent []Verdict, v Verdict) []Verdict {
	if len(recent) >= RecentVerdicts {
		recent = recent[len(recent)-RecentVerdicts+1:]
	}
	out := make([]Verdict, 0, len(recent)+1)
	return append(append(out, recent...), v)
}

// Status is VerdictAccepted or the reject reason.
func (v Verdict) Status() string {
	if v.Reason == "" {
		return VerdictAccepted
	}
	return string(v.Reason)
}

// stateCodec is the group table's codec: EncodeRow and DecodeRow.
type stateCodec struct{}

func (stateCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(*State)
	if !ok {
		return nil, fmt.Errorf("auction table: cannot encode %T", v)
	}
	return EncodeRow(s), nil
}

func (stateCodec) Decode(b []byte) (any, error) {
	return DecodeRow(b)
}

// bidStatusCodec encodes the records of auction.bid-status as JSON, with
// encoding/json: any consumer can read the topic, and the optional times
// are left out when zero (omitzero). A round trip costs ~3.3 µs, about 1 %
// of a batched bid's CPU (measured beside json-iterator's 1.9 µs, which
// writes zero times out in full).
type bidStatusCodec struct{}

func (bidStatusCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(*schemas.BidStatus)
	if !ok {
		return nil, fmt.Errorf("bid status: cannot encode %T", v)
	}
	return json.Marshal(s)
}

func (bidStatusCodec) Decode(b []byte) (any, error) {
	var s schemas.BidStatus
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("bid status: %w", err)
	}
	return &s, nil
}

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
	// Verdicts holds every decided bid by id. A redelivered bid meets its
	// verdict here and gets the same result event again, never a new decision.
	Verdicts map[string]Verdict `json:"verdicts,omitempty"`
	// Pending holds bids that arrived before their item, in arrival order.
	Pending []schemas.BidPlaced `json:"pending,omitempty"`
	// Result is set when the auction closed.
	Result *schemas.ItemCompleted `json:"result,omitempty"`
	// Version counts the events applied, so a reader can tell two states apart.
	Version int64 `json:"version"`
}

// Bid is an accepted bid as the state keeps it.
type Bid struct {
	BidID    string        `json:"bidId"`
	BidderID string        `json:"bidderId"`
	Amount   schemas.Money `json:"amount"`
	PlacedAt time.Time     `json:"placedAt"`
}

// Verdict is the decision on one bid, kept so it can be re-emitted
// unchanged when the bid is delivered again.
type Verdict struct {
	Reason    schemas.RejectReason `json:"reason,omitempty"` // empty: accepted
	Detail    string               `json:"detail,omitempty"`
	BidderID  string               `json:"bidderId"`
	Amount    schemas.Money        `json:"amount"`
	PlacedAt  time.Time            `json:"placedAt"`
	DecidedAt time.Time            `json:"decidedAt"`
	BidCount  int                  `json:"bidCount,omitempty"` // after acceptance
}

// Status is VerdictAccepted or the reject reason.
func (v Verdict) Status() string {
	if v.Reason == "" {
		return VerdictAccepted
	}
	return string(v.Reason)
}

// stateCodec is the group table's codec: JSON, so the table topic is
// readable with any Kafka tool.
type stateCodec struct{}

func (stateCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(*State)
	if !ok {
		return nil, fmt.Errorf("auction table: cannot encode %T", v)
	}
	return json.Marshal(s)
}

func (stateCodec) Decode(b []byte) (any, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("auction table: %w", err)
	}
	return &s, nil
}

// bidStatusCodec encodes the records of auction.bid-status as JSON.
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

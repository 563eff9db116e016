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
	// Version counts the events applied, so a reader can tell two states apart.
	Version int64 `json:"version"`
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

// Input is one event the processor reacts to; exactly one field is set.
type Input struct {
	// EventID is the CloudEvent id, the cause of whatever Decide emits.
	EventID string
	Item    *schemas.ItemPlaced
}

// Output is an event Decide asks to emit.
type Output struct {
	Topic string
	Type  string
	ID    string
	Data  any
}

// Decide applies in to s at time now and returns the new state and the
// events to emit. It is pure: no I/O, no clock, no goka.
func Decide(s State, in Input, now time.Time) (State, []Output) {
	switch {
	case in.Item != nil:
		return placeItem(s, *in.Item)
	}
	return s, nil
}

func placeItem(s State, item schemas.ItemPlaced) (State, []Output) {
	if s.Item != nil {
		// The same item delivered twice (a producer retry, a replay) is applied once.
		return s, nil
	}
	s.Item = &item
	s.Status = StatusOpen
	s.Version++
	return s, nil
}

// Package bidhistory is the out-of-band function that keeps every item's
// decided bids, newest first: the read model behind GET
// /v1/items/{itemId}/bids.
//
// In: auction.bid-results (every verdict of the processor), through the
// Kafka trigger in its own consumer group. Out: the Store, one entry per
// bid. A verdict the processor emits again (after a crash, for a
// redelivered bid) carries the same bid id and decision time, so it lands
// on the same entry: the history has each bid once. A record that is not a
// valid verdict is dead-lettered, as every consumer of the topic does.
package bidhistory

import (
	"context"
	"fmt"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

// Entry is one decided bid.
type Entry struct {
	BidID     string               `json:"bidId"`
	ItemID    string               `json:"itemId"`
	BidderID  string               `json:"bidderId"`
	Amount    schemas.Money        `json:"amount"`
	Status    string               `json:"status"` // schemas.StatusAccepted or StatusRejected
	Reason    schemas.RejectReason `json:"reason,omitempty"`
	Detail    string               `json:"detail,omitempty"`
	PlacedAt  time.Time            `json:"placedAt"`
	DecidedAt time.Time            `json:"decidedAt"`
	// BidCount is the item's accepted bids with this one, when accepted.
	BidCount int `json:"bidCount,omitempty"`
}

// Key orders an item's entries: by decision time, then bid id. Fixed
// width, so it sorts as text too (a DynamoDB range key).
func (e Entry) Key() string {
	return fmt.Sprintf("%020d#%s", e.DecidedAt.UnixNano(), e.BidID)
}

// Store keeps entries by item.
type Store interface {
	// Record stores entries, idempotent per (item, Key).
	Record(ctx context.Context, entries []Entry) error
	// Page returns up to limit of the item's entries, newest first, those
	// before the cursor (a Key; "" for the newest), and the cursor of the
	// next page ("" when there is none). An item with none is no error.
	Page(ctx context.Context, itemID, cursor string, limit int) (entries []Entry, next string, err error)
}

// Topics are what the function reads.
func Topics() []string { return []string{schemas.TopicBidResults} }

// Handler returns the trigger handler that records every verdict of a
// batch in store. A record that is not a valid verdict fails as a
// permanent RecordError after the verdicts before it are recorded.
func Handler(store Store) trigger.Handler {
	return func(ctx context.Context, batch []trigger.Record) error {
		entries := make([]Entry, 0, len(batch))
		for i, rec := range batch {
			e, err := FromRecord(rec)
			if err != nil {
				if len(entries) > 0 {
					if err := store.Record(ctx, entries); err != nil {
						return err
					}
				}
				return &trigger.RecordError{Index: i, Err: err, Permanent: true}
			}
			entries = append(entries, e)
		}
		return store.Record(ctx, entries)
	}
}

// FromRecord reads the entry of one record of auction.bid-results.
func FromRecord(rec trigger.Record) (Entry, error) {
	got, err := schemas.Read(schemas.TopicBidResults, rec.Message)
	if err != nil {
		return Entry{}, err
	}
	switch v := got.Data.(type) {
	case *schemas.BidAccepted:
		return Entry{BidID: v.BidID, ItemID: v.ItemID, BidderID: v.BidderID, Amount: v.Amount, Status: schemas.StatusAccepted,
			PlacedAt: v.PlacedAt.UTC(), DecidedAt: v.DecidedAt.UTC(), BidCount: v.BidCount}, nil
	case *schemas.BidRejected:
		return Entry{BidID: v.BidID, ItemID: v.ItemID, BidderID: v.BidderID, Amount: v.Amount, Status: schemas.StatusRejected,
			Reason: v.Reason, Detail: v.Detail, PlacedAt: v.PlacedAt.UTC(), DecidedAt: v.DecidedAt.UTC()}, nil
	default:
		return Entry{}, fmt.Errorf("event %s: %T is not a verdict", got.Event.ID(), got.Data)
	}
}

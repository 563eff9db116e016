// Package itemdir is the item directory: the out-of-band function that
// keeps what the validate-bid edge function needs to know of each item
// (its seller and currency, the latest it may end, whether it has closed),
// for edge functions that keep no view of the processor's table of their
// own, as on AWS Lambda. It is a placebid.Items.
//
// In: auction.items (each item placed) and auction.item-complete (each
// close), through the Kafka trigger or an event source mapping. Out: the
// Store, one entry per item. The two topics are read apart, so a close may
// be recorded before its placement: the entry then waits, unknown to the
// edge, until the placement arrives. Each change sets fields and never
// clears one, so a redelivered event changes nothing and the two orders
// end in the same entry.
//
// The directory lags the log, by the mapping's batching window on Lambda:
// a bid on an item placed a moment ago may find it unknown and be refused
// as unknown_item, and a bid after a close not yet recorded goes to the
// processor, which refuses it too_late. The edge refuses only what is
// plainly wrong; the processor decides.
package itemdir

import (
	"context"
	"fmt"

	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

// Change is what one event says of an item: it was placed (Placed set:
// its seller, currency and end; its Closed is not read), or it has
// closed.
type Change struct {
	ItemID string
	Placed *placebid.Item
	Closed bool
}

// Store keeps the directory.
type Store interface {
	// Record applies changes. A placement sets the item's seller, currency
	// and end; a close marks it closed; neither undoes the other, so
	// Record is idempotent and the order of changes does not matter.
	Record(ctx context.Context, changes []Change) error
	// Item is what the directory holds of an item; ok is false until its
	// placement is recorded.
	Item(ctx context.Context, itemID string) (item placebid.Item, ok bool, err error)
}

// Topics are what the function reads.
func Topics() []string { return []string{schemas.TopicItems, schemas.TopicItemComplete} }

// Handler returns the trigger handler that records every placement and
// close of a batch in store; a soft close's extensions pass over (the
// entry's end is already the latest the item may end). A record that is
// not a valid event of its topic fails as a permanent RecordError after
// the changes before it are recorded.
func Handler(store Store) trigger.Handler {
	return func(ctx context.Context, batch []trigger.Record) error {
		changes := make([]Change, 0, len(batch))
		for i, rec := range batch {
			c, ok, err := FromRecord(rec)
			if err != nil {
				if len(changes) > 0 {
					if err := store.Record(ctx, changes); err != nil {
						return err
					}
				}
				return &trigger.RecordError{Index: i, Err: err, Permanent: true}
			}
			if ok {
				changes = append(changes, c)
			}
		}
		if len(changes) == 0 {
			return nil
		}
		return store.Record(ctx, changes)
	}
}

// FromRecord reads the change one record of Topics makes; ok is false for
// an event that changes nothing here (an extension).
func FromRecord(rec trigger.Record) (c Change, ok bool, err error) {
	got, err := schemas.Read(rec.Topic, rec.Message)
	if err != nil {
		return Change{}, false, err
	}
	switch v := got.Data.(type) {
	case *schemas.ItemPlaced:
		return Change{ItemID: v.ItemID, Placed: &placebid.Item{
			SellerID: v.Seller.ID, Currency: v.StartingPrice.Currency,
			EndsAt: schemas.LatestEnd(v.SoftClose, v.EndsAt).UTC(),
		}}, true, nil
	case *schemas.ItemCompleted:
		return Change{ItemID: v.ItemID, Closed: true}, true, nil
	case *schemas.ItemExtended:
		return Change{}, false, nil
	default:
		return Change{}, false, fmt.Errorf("event %s: %T is not an item's placement or close", got.Event.ID(), got.Data)
	}
}

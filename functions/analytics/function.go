package analytics

import (
	"context"
	"errors"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

// Source is the CloudEvents source of the analytics-counted events.
const Source = schemas.Source + "/functions/analytics"

// OnCompleted is analytics as a trigger function of item-complete events
// (see trigger.Function): it counts the batch (see Handle) and returns an
// auction.analytics event for every completion counted, the last link of
// each auction's lineage. The event id is the item's, so a completion
// delivered again announces the same event again.
//
// Everything before a completion that fails is counted and announced; an
// invalid one (ErrInvalidFact) can never be counted and is reported as a
// permanent *trigger.RecordError, to be dead-lettered at once.
func (a *Analytics) OnCompleted(ctx context.Context, evs []trigger.Event[schemas.ItemCompleted]) ([]trigger.Output, error) {
	done := make([]schemas.ItemCompleted, len(evs))
	for i, e := range evs {
		done[i] = e.Data
	}
	err := a.Handle(ctx, done)
	var fe *FactError
	counted := len(evs)
	if errors.As(err, &fe) {
		counted = fe.Index
	} else if err != nil {
		return nil, err
	}
	now := a.now()
	out := make([]trigger.Output, counted)
	for i, e := range evs[:counted] {
		d := e.Data
		out[i] = trigger.Output{
			Topic: schemas.TopicAnalytics, Type: schemas.TypeAnalyticsCounted,
			Meta:  schemas.Meta{ID: d.ItemID + ".analytics", Source: Source, Subject: d.ItemID, Time: now},
			Data:  schemas.AnalyticsCounted{ItemID: d.ItemID, Category: d.Category, Sold: d.Sold, Price: d.Price, CountedAt: now},
			Cause: i,
		}
	}
	if fe != nil {
		return out, &trigger.RecordError{Index: fe.Index, Err: fe, Permanent: errors.Is(fe.Err, ErrInvalidFact)}
	}
	return out, nil
}

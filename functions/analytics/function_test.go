package analytics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

func TestOnCompleted(t *testing.T) {
	now := endsAt.Add(time.Minute)
	noPrice := completed("i2")
	noPrice.Price = nil // sold without a price: never countable
	evs := []trigger.Event[schemas.ItemCompleted]{
		{ID: "i1.completed", Data: completed("i1")},
		{ID: "i2.completed", Data: noPrice},
		{ID: "i3.completed", Data: completed("i3")},
	}
	a := analytics.New(analytics.Deps{Store: analytics.NewMemory(), Now: func() time.Time { return now }})
	outs, err := a.OnCompleted(t.Context(), evs)

	var re *trigger.RecordError
	if !errors.As(err, &re) || re.Index != 1 || !re.Permanent || !errors.Is(err, analytics.ErrInvalidFact) {
		t.Fatalf("error: got %v, want a permanent *trigger.RecordError at 1 wrapping ErrInvalidFact", err)
	}
	// What came before the invalid completion is counted and announced.
	if len(outs) != 1 {
		t.Fatalf("outputs: got %d, want 1 (the completion before the invalid one)", len(outs))
	}
	o := outs[0]
	c, ok := o.Data.(schemas.AnalyticsCounted)
	if o.Topic != schemas.TopicAnalytics || o.Type != schemas.TypeAnalyticsCounted || o.Cause != 0 ||
		o.Meta.ID != "i1.analytics" || o.Meta.Source != analytics.Source || o.Meta.Subject != "i1" || !o.Meta.Time.Equal(now) ||
		!ok || c.ItemID != "i1" || c.Category != "cameras" || !c.Sold || c.Price == nil || c.Price.Amount != 230000 || !c.CountedAt.Equal(now) {
		t.Errorf("output: got %+v, want i1's count on %s, caused by event 0", o, schemas.TopicAnalytics)
	}
	if v, err := schemas.SharedValidator(); err != nil {
		t.Fatal(err)
	} else if ev, err := schemas.NewEvent(o.Type, o.Meta, o.Data); err != nil {
		t.Fatal(err)
	} else if err := v.Validate(o.Type, ev.Data()); err != nil {
		t.Errorf("output data: %v", err)
	}

	// Retried, the batch announces the same events again (same ids).
	again, err := a.OnCompleted(t.Context(), evs[:1])
	if err != nil || len(again) != 1 || again[0].Meta.ID != o.Meta.ID {
		t.Fatalf("retry: got %v, %v, want the same output id %s", again, err, o.Meta.ID)
	}
}

package trigger

import (
	"context"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Event is one CloudEvent of a batch with its data decoded: what a function
// written for the platform sees instead of Kafka records.
type Event[T any] struct {
	ID, Subject string
	Time        time.Time
	Data        T
	// Record is where the event came from, for lineage and idempotency keys.
	Record Record
}

// Events adapts fn, a function of typed events, to a Handler. Each record is
// decoded as a CloudEvent (either content mode) of type eventType with JSON
// data. fn is called once per batch with the events in offset order.
//
// A record that is not such an event can never succeed, so it is reported
// as a permanent *RecordError at its index and dead-lettered without
// retries. The events before it are handed to fn first, so order is kept:
// nothing after a bad record is processed before the records ahead of it.
//
// fn may itself return a *RecordError; its Index counts in events, which
// are the batch's records one for one.
func Events[T any](eventType string, fn func(ctx context.Context, events []Event[T]) error) Handler {
	return func(ctx context.Context, batch []Record) error {
		events := make([]Event[T], 0, len(batch))
		for i, rec := range batch {
			ev, err := decode[T](rec, eventType)
			if err != nil {
				if len(events) > 0 {
					if err := fn(ctx, events); err != nil {
						return err
					}
				}
				return &RecordError{Index: i, Err: err, Permanent: true}
			}
			events = append(events, ev)
		}
		return fn(ctx, events)
	}
}

func decode[T any](rec Record, eventType string) (Event[T], error) {
	e, err := cekafka.Decode(rec.Message)
	if err != nil {
		return Event[T]{}, err
	}
	data, err := schemas.Data[T](e, eventType)
	if err != nil {
		return Event[T]{}, err
	}
	return Event[T]{ID: e.ID(), Subject: e.Subject(), Time: e.Time(), Data: data, Record: rec}, nil
}

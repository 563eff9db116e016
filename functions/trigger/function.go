package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// Output is an event a function returns for its trigger to write. The
// function says what happened; the trigger says what caused it: the event's
// causation id is the id of the event at Cause, and its trace is the call's.
type Output struct {
	// Topic is where the event is written.
	Topic string
	// Type, Meta and Data are those of schemas.NewEvent; Meta.CausationID
	// is set by the trigger.
	Type string
	Meta schemas.Meta
	Data any
	// Cause is the index, in the batch the function was given, of the
	// event this one answers.
	Cause int
}

// Func is a function of the platform's events of one type: given a batch,
// in offset order, it returns the events it wants written. It may return a
// *RecordError (its Index counts events) with the outputs of the events
// before it, which are written first.
type Func[T any] func(ctx context.Context, events []Event[T]) ([]Output, error)

// Function adapts fn, a function of the platform's events of eventType on
// topic (a topic of schemas.Catalog, whatever the name of the topic the
// trigger is bound to), to a Handler. Each record is read as every consumer
// of the flow reads one (schemas.ReadAs: a CloudEvent of a type the topic
// carries, valid against its schema, under the key its data names), so a
// function refuses exactly what the stream processor refuses: such a record
// is reported as a permanent *RecordError, and dead-lettered, after fn has
// had the events before it. A sound event of another type the topic
// carries (a rejection, to a function of accepted bids) is passed over.
//
// The outputs fn returns are written through out, acknowledged, before the
// batch counts as done: a call that fails after some were written is
// retried, so outputs must have ids derived from their cause (as notify's
// and analytics' do) for a retry to repeat, not duplicate, them.
func Function[T any](topic, eventType string, out Writer, fn Func[T]) Handler {
	return func(ctx context.Context, batch []Record) error {
		events := make([]Event[T], 0, len(batch))
		at := make([]int, 0, len(batch)) // each event's index in batch
		for i, rec := range batch {
			e, data, err := schemas.ReadAs[T](topic, eventType, rec.Message)
			if errors.Is(err, schemas.ErrOtherType) {
				continue
			}
			if err != nil {
				if len(events) > 0 {
					if err := callFunc(ctx, out, fn, events, at); err != nil {
						return err
					}
				}
				return &RecordError{Index: i, Err: err, Permanent: true}
			}
			events = append(events, Event[T]{ID: e.ID(), Subject: e.Subject(), Time: e.Time(), Data: data, Record: rec})
			at = append(at, i)
		}
		if len(events) == 0 {
			return nil
		}
		return callFunc(ctx, out, fn, events, at)
	}
}

// callFunc runs fn on events and writes what it returns, also when it
// returns a *RecordError along with them; at maps an event's index to its
// record's in the batch, which the error then counts in.
func callFunc[T any](ctx context.Context, out Writer, fn Func[T], events []Event[T], at []int) error {
	outs, err := fn(ctx, events)
	var re *RecordError
	if err != nil && !errors.As(err, &re) {
		return err
	}
	if werr := write(ctx, out, outs, events); werr != nil {
		return werr
	}
	if re != nil && re.Index >= 0 && re.Index < len(at) {
		moved := *re
		moved.Index = at[re.Index]
		return &moved
	}
	return err
}

// write builds the outputs' events, each caused by its input, and writes
// them in order.
func write[T any](ctx context.Context, out Writer, outs []Output, events []Event[T]) error {
	if len(outs) == 0 {
		return nil
	}
	recs := make([]kafkaio.Record, 0, len(outs))
	for _, o := range outs {
		if o.Cause < 0 || o.Cause >= len(events) {
			return fmt.Errorf("output %s: cause %d is not an event of the batch of %d", o.Meta.ID, o.Cause, len(events))
		}
		o.Meta.CausationID = events[o.Cause].ID
		e, err := schemas.NewEvent(o.Type, o.Meta, o.Data)
		if err != nil {
			return err
		}
		rs, err := kafkaio.Events(o.Topic, e)
		if err != nil {
			return err
		}
		recs = append(recs, rs...)
	}
	return out.Write(ctx, recs...)
}

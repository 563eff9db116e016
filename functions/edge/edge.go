// Package edge holds what the in-band edge functions (placeitem, placebid)
// share: writing an event they built, checked against its contract first,
// and recording a refusal on auction.rejected so it is a fact in the log. A
// write the log did not acknowledge in time is reported as
// faas.ErrUnavailable, which is all the gateway needs to know of it.
package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// Publisher writes events and returns once the log acknowledged them.
type Publisher interface {
	PublishEvents(ctx context.Context, topic string, events ...event.Event) error
}

// Writer publishes one function's events.
type Writer struct {
	source    string
	publisher Publisher
	validator *schemas.Validator
}

// NewWriter returns a writer for events from source.
func NewWriter(source string, p Publisher) (*Writer, error) {
	v, err := schemas.SharedValidator()
	if err != nil {
		return nil, err
	}
	return &Writer{source: source, publisher: p, validator: v}, nil
}

// Outgoing is one event to write: its metadata and data.
type Outgoing struct {
	Meta schemas.Meta
	Data any
}

// Write builds the event, checks its data against the contract and writes
// it to topic. The check on the way out means a bug in a function never puts
// an event into the log that every consumer then has to dead-letter.
func (w *Writer) Write(ctx context.Context, topic, eventType string, m schemas.Meta, data any) error {
	return w.WriteAll(ctx, topic, eventType, Outgoing{Meta: m, Data: data})
}

// WriteAll writes events of one type in one produce call: every record is
// in flight at once and the call returns when all are acknowledged. This is
// what makes the batched edge path fast.
func (w *Writer) WriteAll(ctx context.Context, topic, eventType string, out ...Outgoing) error {
	events := make([]event.Event, len(out))
	for i, o := range out {
		o.Meta.Source = w.source
		e, err := schemas.NewEvent(eventType, o.Meta, o.Data)
		if err != nil {
			return err
		}
		if err := w.validator.Validate(eventType, e.Data()); err != nil {
			return fmt.Errorf("%s built an invalid %s event: %w", w.source, eventType, err)
		}
		events[i] = e
	}
	if err := w.publisher.PublishEvents(ctx, topic, events...); err != nil {
		if errors.Is(err, kafkaio.ErrUnavailable) {
			// The broker did not acknowledge in time: the caller may retry.
			return fmt.Errorf("publish %d %s events: %w: %w", len(events), eventType, faas.ErrUnavailable, err)
		}
		return fmt.Errorf("publish %d %s events: %w", len(events), eventType, err)
	}
	return nil
}

// Reject records a refusal on auction.rejected, keyed by subject (a fresh
// id when the refusal concerns nothing that has one yet).
func (w *Writer) Reject(ctx context.Context, subject string, rej schemas.EventRejected, now time.Time) error {
	return w.WriteAll(ctx, schemas.TopicRejected, schemas.TypeEventRejected, Rejection(subject, rej, now))
}

// Rejection is the outgoing auction.rejected event for rej.
func Rejection(subject string, rej schemas.EventRejected, now time.Time) Outgoing {
	id := uuid.Must(uuid.NewV7()).String()
	if subject == "" {
		subject = id
	}
	rej.RejectedAt = now
	return Outgoing{Meta: schemas.Meta{ID: id, Subject: subject, Time: now}, Data: rej}
}

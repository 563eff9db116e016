package schemas

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/schemas/cekafka"
)

// CloudEvents extension attributes the platform sets on every event.
const (
	// ExtPartitionKey is the Kafka binding's key mapping: the record key.
	ExtPartitionKey = cekafka.ExtPartitionKey
	// ExtCorrelationID ties every event of one auction together (the item id).
	ExtCorrelationID = "correlationid"
	// ExtCausationID is the id of the event that caused this one.
	ExtCausationID = "causationid"
)

// Meta is what an event says about itself besides its data.
type Meta struct {
	// ID is unique per event; producers derive it from the business id where
	// one exists (a bid's id), so a retried write carries the same id.
	ID      string
	Source  string
	Subject string // the item id for every keyed auction event
	Time    time.Time
	// Key is the Kafka record key; it defaults to Subject.
	Key         string
	CausationID string
}

// NewEvent builds the CloudEvents envelope of data: JSON data, the
// dataschema of its type, and the platform's extensions.
func NewEvent(eventType string, m Meta, data any) (event.Event, error) {
	e := event.New()
	e.SetID(m.ID)
	e.SetSource(m.Source)
	e.SetType(eventType)
	e.SetSubject(m.Subject)
	e.SetTime(m.Time.UTC())
	e.SetDataSchema(DataSchema(eventType))
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("encode %s data: %w", eventType, err)
	}
	key := m.Key
	if key == "" {
		key = m.Subject
	}
	if key != "" {
		e.SetExtension(ExtPartitionKey, key)
	}
	if m.Subject != "" {
		e.SetExtension(ExtCorrelationID, m.Subject)
	}
	if m.CausationID != "" {
		e.SetExtension(ExtCausationID, m.CausationID)
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("new %s event: %w", eventType, err)
	}
	return e, nil
}

// Data decodes the data of e into T after checking that e has the expected type.
func Data[T any](e event.Event, eventType string) (T, error) {
	var v T
	if e.Type() != eventType {
		return v, fmt.Errorf("event %s: type %q, want %q", e.ID(), e.Type(), eventType)
	}
	if err := json.Unmarshal(e.Data(), &v); err != nil {
		return v, fmt.Errorf("decode %s data of event %s: %w", eventType, e.ID(), err)
	}
	return v, nil
}

package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/schemas/cekafka"
)

// Received is an event read off a topic by Read: its envelope, and its data
// decoded into the Go type of its event type.
type Received struct {
	Event event.Event
	// Data is a pointer to the data's Go type: *ItemPlaced for an item
	// placed, *BidPlaced for a bid, and so on (see Types).
	Data any
}

// typeKind is what Read knows of an event type: a new value of its Go type, and
// the record key an event of the type must travel under.
type typeKind struct {
	new func() any
	key func(e event.Event, data any) string
}

// keyed builds the typeKind of a type whose key is a field of its data.
func keyed[T any](key func(*T) string) typeKind {
	return typeKind{
		new: func() any { return new(T) },
		key: func(_ event.Event, data any) string { return key(data.(*T)) },
	}
}

// kinds covers every type of Types; TestKindsCoverTypes keeps it so. The
// keys are the catalog's (see Catalog): the item id for every event about
// an auction, the user for a notification, and the subject for a refusal.
var kinds = map[string]typeKind{
	TypeItemPlaced:       keyed(func(d *ItemPlaced) string { return d.ItemID }),
	TypeBidPlaced:        keyed(func(d *BidPlaced) string { return d.ItemID }),
	TypeCloseDue:         keyed(func(d *CloseDue) string { return d.ItemID }),
	TypeItemExtended:     keyed(func(d *ItemExtended) string { return d.ItemID }),
	TypeBidAccepted:      keyed(func(d *BidAccepted) string { return d.ItemID }),
	TypeBidRejected:      keyed(func(d *BidRejected) string { return d.ItemID }),
	TypeItemCompleted:    keyed(func(d *ItemCompleted) string { return d.ItemID }),
	TypeNotificationSent: keyed(func(d *NotificationSent) string { return d.UserID }),
	TypeAnalyticsCounted: keyed(func(d *AnalyticsCounted) string { return d.ItemID }),
	TypeEventRejected: {
		new: func() any { return new(EventRejected) },
		key: func(e event.Event, _ any) string { return e.Subject() },
	},
}

// catalog is Catalog by topic name, built once: Read looks a topic up per
// record.
var catalog = sync.OnceValue(func() map[string]Topic {
	m := map[string]Topic{}
	for _, t := range Catalog() {
		m[t.Name] = t
	}
	return m
})

// SharedValidator returns the process's one Validator, compiled on first
// use: compiling every schema takes milliseconds and the result never
// changes.
func SharedValidator() (*Validator, error) { return sharedValidator() }

var sharedValidator = sync.OnceValues(NewValidator)

// Read is the one way a consumer of the flow reads an event off topic: msg
// must be a CloudEvent (either content mode) of a type the catalog puts on
// topic, its data must be valid against the type's JSON Schema, and it must
// travel under the key its data names (an event about item A under item
// B's key would meet B's state in a stream processor, and B's partition
// elsewhere). Every consumer refuses exactly what the others refuse, so
// they agree on which auctions, bids and completions exist; a refused
// record is dead-lettered by whoever read it.
func Read(topic string, msg cekafka.Message) (Received, error) {
	v, err := SharedValidator()
	if err != nil {
		return Received{}, err
	}
	e, err := cekafka.Decode(msg)
	if err != nil {
		return Received{}, err
	}
	t, ok := catalog()[topic]
	if !ok || !slices.Contains(t.EventTypes, e.Type()) {
		return Received{}, fmt.Errorf("event %s: type %q does not belong on %s", e.ID(), e.Type(), topic)
	}
	k, ok := kinds[e.Type()]
	if !ok {
		return Received{}, fmt.Errorf("event %s: %w %q", e.ID(), ErrUnknownType, e.Type())
	}
	if err := v.Validate(e.Type(), e.Data()); err != nil {
		return Received{}, fmt.Errorf("event %s: %w", e.ID(), err)
	}
	data := k.new()
	if err := json.Unmarshal(e.Data(), data); err != nil {
		return Received{}, fmt.Errorf("decode %s data of event %s: %w", e.Type(), e.ID(), err)
	}
	if want := k.key(e, data); want != string(msg.Key) {
		return Received{}, fmt.Errorf("event %s: %s %q under key %q", e.ID(), t.Key, want, msg.Key)
	}
	return Received{Event: e, Data: data}, nil
}

// ErrOtherType is wrapped by ReadAs's error for a sound event of another
// type than the one asked for, which the topic carries too: a reader of
// one type may pass over it, where any other error is a record to refuse.
var ErrOtherType = errors.New("an event of another type")

// ReadAs is Read for a consumer of one event type: it also refuses any
// other type the topic carries (ErrOtherType), and returns the data as a T.
func ReadAs[T any](topic, eventType string, msg cekafka.Message) (event.Event, T, error) {
	var zero T
	r, err := Read(topic, msg)
	if err != nil {
		return event.Event{}, zero, err
	}
	if r.Event.Type() != eventType {
		return event.Event{}, zero, fmt.Errorf("event %s: %w: type %q, want %q", r.Event.ID(), ErrOtherType, r.Event.Type(), eventType)
	}
	d, ok := r.Data.(*T)
	if !ok {
		return event.Event{}, zero, fmt.Errorf("event %s: %s data is %T, not %T", r.Event.ID(), eventType, r.Data, zero)
	}
	return r.Event, *d, nil
}

package edge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/edge"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

var now = time.Date(2030, 3, 14, 18, 0, 0, 0, time.UTC)

const source = schemas.Source + "/functions/test"

// call is one PublishEvents call.
type call struct {
	topic  string
	events []event.Event
}

// fakePublisher records every PublishEvents call, or fails each with err.
type fakePublisher struct {
	mu    sync.Mutex
	calls []call
	err   error
}

func (p *fakePublisher) PublishEvents(_ context.Context, topic string, events ...event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.calls = append(p.calls, call{topic, slices.Clone(events)})
	return nil
}

func (p *fakePublisher) Calls() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

func newWriter(t *testing.T, p edge.Publisher) *edge.Writer {
	t.Helper()
	w, err := edge.NewWriter(source, p)
	if err != nil {
		t.Fatalf("NewWriter: got %v, want nil", err)
	}
	return w
}

func bid(id, item string, amount int64) edge.Outgoing {
	return edge.Outgoing{
		Meta: schemas.Meta{ID: id, Subject: item, Time: now},
		Data: schemas.BidPlaced{BidID: id, ItemID: item, Bidder: schemas.Party{ID: "bidder-1", Name: "Grace"},
			Amount: schemas.Money{Amount: amount, Currency: "EUR"}, PlacedAt: now},
	}
}

func TestWriteAll(t *testing.T) {
	tests := []struct {
		name      string
		eventType string
		out       []edge.Outgoing
		wantErr   bool
		wantValid bool // the error is a *schemas.ValidationError
		wantIs    error
		wantIDs   []string
	}{
		{name: "one valid", eventType: schemas.TypeBidPlaced, out: []edge.Outgoing{bid("b1", "i1", 100)},
			wantIDs: []string{"b1"}},
		{name: "three valid, in order", eventType: schemas.TypeBidPlaced,
			out:     []edge.Outgoing{bid("b1", "i1", 100), bid("b2", "i2", 200), bid("b3", "i1", 300)},
			wantIDs: []string{"b1", "b2", "b3"}},
		{name: "last of three invalid", eventType: schemas.TypeBidPlaced,
			out:     []edge.Outgoing{bid("b1", "i1", 100), bid("b2", "i2", 200), bid("b3", "i1", -1)},
			wantErr: true, wantValid: true},
		{name: "first of three invalid", eventType: schemas.TypeBidPlaced,
			out:     []edge.Outgoing{bid("b1", "i1", 1<<53), bid("b2", "i2", 200), bid("b3", "i1", 300)},
			wantErr: true, wantValid: true},
		{name: "data of another type", eventType: schemas.TypeItemPlaced,
			out: []edge.Outgoing{bid("b1", "i1", 100)}, wantErr: true, wantValid: true},
		{name: "data not JSON-encodable", eventType: schemas.TypeBidPlaced,
			out:     []edge.Outgoing{{Meta: schemas.Meta{ID: "b1", Subject: "i1", Time: now}, Data: make(chan int)}},
			wantErr: true},
		{name: "no id", eventType: schemas.TypeBidPlaced,
			out: []edge.Outgoing{bid("b1", "i1", 100), bid("", "i1", 100)}, wantErr: true},
		{name: "unknown type", eventType: "auction.nothing.v1", out: []edge.Outgoing{bid("b1", "i1", 100)},
			wantErr: true, wantIs: schemas.ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			w := newWriter(t, pub)
			err := w.WriteAll(context.Background(), schemas.TopicBids, tt.eventType, tt.out...)
			calls := pub.Calls()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("WriteAll: got nil, want an error")
				}
				var verr *schemas.ValidationError
				if got := errors.As(err, &verr); got != tt.wantValid {
					t.Fatalf("WriteAll error %v: got ValidationError %v, want %v", err, got, tt.wantValid)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Fatalf("WriteAll error: got %v, want it to wrap %v", err, tt.wantIs)
				}
				if len(calls) != 0 {
					t.Fatalf("publish calls: got %v, want none: nothing of a batch with an invalid event is written", calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("WriteAll: got %v, want nil", err)
			}
			if len(calls) != 1 {
				t.Fatalf("publish calls: got %d, want 1", len(calls))
			}
			if calls[0].topic != schemas.TopicBids {
				t.Fatalf("topic: got %q, want %q", calls[0].topic, schemas.TopicBids)
			}
			var ids []string
			for _, e := range calls[0].events {
				ids = append(ids, e.ID())
				if e.Type() != tt.eventType {
					t.Fatalf("type: got %q, want %q", e.Type(), tt.eventType)
				}
				if e.Source() != source {
					t.Fatalf("source: got %q, want %q", e.Source(), source)
				}
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Fatalf("event ids: got %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

func TestWriteSetsSource(t *testing.T) {
	tests := []struct {
		name   string
		source string // what the caller put in Meta
	}{
		{name: "unset"},
		{name: "caller's own", source: "/somewhere/else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			out := bid("b1", "item-1", 100)
			out.Meta.Source = tt.source
			if err := newWriter(t, pub).Write(context.Background(), schemas.TopicBids, schemas.TypeBidPlaced, out.Meta, out.Data); err != nil {
				t.Fatalf("Write: got %v, want nil", err)
			}
			calls := pub.Calls()
			if len(calls) != 1 || len(calls[0].events) != 1 {
				t.Fatalf("publish calls: got %v, want 1 with 1 event", calls)
			}
			e := calls[0].events[0]
			if e.Source() != source {
				t.Fatalf("source: got %q, want the writer's %q", e.Source(), source)
			}
			if e.Subject() != "item-1" || e.Extensions()[schemas.ExtPartitionKey] != "item-1" {
				t.Fatalf("subject, partitionkey: got %q, %v, want item-1", e.Subject(), e.Extensions()[schemas.ExtPartitionKey])
			}
			if !e.Time().Equal(now) {
				t.Fatalf("time: got %v, want %v", e.Time(), now)
			}
		})
	}
}

func TestWriteAllPublisherError(t *testing.T) {
	errBroker := errors.New("broker unavailable")
	pub := &fakePublisher{err: fmt.Errorf("produce: %w", errBroker)}
	err := newWriter(t, pub).WriteAll(context.Background(), schemas.TopicBids, schemas.TypeBidPlaced,
		bid("b1", "i1", 100), bid("b2", "i1", 200))
	if !errors.Is(err, errBroker) {
		t.Fatalf("WriteAll: got %v, want it to wrap %v", err, errBroker)
	}
	if errors.Is(err, faas.ErrUnavailable) {
		t.Fatalf("WriteAll: got %v, want no %v for a failure that is not the broker's absence", err, faas.ErrUnavailable)
	}
}

// TestWriteAllUnavailable: a write the log did not take in time is
// faas.ErrUnavailable (the gateway's 503), and keeps its cause.
func TestWriteAllUnavailable(t *testing.T) {
	pub := &fakePublisher{err: fmt.Errorf("deliver to auction.bids: %w", kafkaio.ErrUnavailable)}
	err := newWriter(t, pub).WriteAll(context.Background(), schemas.TopicBids, schemas.TypeBidPlaced, bid("b1", "i1", 100))
	if !errors.Is(err, faas.ErrUnavailable) || !errors.Is(err, kafkaio.ErrUnavailable) {
		t.Fatalf("WriteAll: got %v, want it to wrap %v and %v", err, faas.ErrUnavailable, kafkaio.ErrUnavailable)
	}
}

func TestRejection(t *testing.T) {
	rej := schemas.EventRejected{Kind: "item", UserID: "seller-1",
		Reasons: []schemas.FieldError{{Field: "/title", Code: "length", Message: "too long"}}}
	tests := []struct {
		name    string
		subject string
	}{
		{name: "with a subject", subject: "item-1"},
		{name: "without a subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := edge.Rejection(tt.subject, rej, now)
			b := edge.Rejection(tt.subject, rej, now)
			if _, err := uuid.Parse(a.Meta.ID); err != nil {
				t.Fatalf("id: got %q (%v), want a UUID", a.Meta.ID, err)
			}
			if a.Meta.ID == b.Meta.ID {
				t.Fatalf("ids of two rejections: got %q twice, want fresh ids", a.Meta.ID)
			}
			want := tt.subject
			if want == "" {
				want = a.Meta.ID
			}
			if a.Meta.Subject != want {
				t.Fatalf("subject: got %q, want %q", a.Meta.Subject, want)
			}
			if !a.Meta.Time.Equal(now) {
				t.Fatalf("time: got %v, want %v", a.Meta.Time, now)
			}
			data, ok := a.Data.(schemas.EventRejected)
			if !ok {
				t.Fatalf("data: got %T, want schemas.EventRejected", a.Data)
			}
			if !data.RejectedAt.Equal(now) || data.Kind != rej.Kind || !slices.Equal(data.Reasons, rej.Reasons) {
				t.Fatalf("data: got %+v, want %+v rejected at %v", data, rej, now)
			}
		})
	}
}

func TestReject(t *testing.T) {
	rej := schemas.EventRejected{Kind: "bid", SubjectID: "item-1", UserID: "bidder-1",
		Reasons: []schemas.FieldError{{Field: "/amount", Code: "minimum", Message: "too low"}}}
	tests := []struct {
		name    string
		subject string
	}{
		{name: "keyed by subject", subject: "item-1"},
		{name: "keyed by its own id", subject: ""},
	}
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: got %v, want nil", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			if err := newWriter(t, pub).Reject(context.Background(), tt.subject, rej, now); err != nil {
				t.Fatalf("Reject: got %v, want nil", err)
			}
			calls := pub.Calls()
			if len(calls) != 1 || len(calls[0].events) != 1 {
				t.Fatalf("publish calls: got %v, want 1 with 1 event", calls)
			}
			e := calls[0].events[0]
			if calls[0].topic != schemas.TopicRejected || e.Type() != schemas.TypeEventRejected || e.Source() != source {
				t.Fatalf("topic, type, source: got %q, %q, %q, want %q, %q, %q",
					calls[0].topic, e.Type(), e.Source(), schemas.TopicRejected, schemas.TypeEventRejected, source)
			}
			want := tt.subject
			if want == "" {
				want = e.ID()
			}
			if e.Subject() != want || e.Extensions()[schemas.ExtPartitionKey] != want {
				t.Fatalf("subject, partitionkey: got %q, %v, want %q", e.Subject(), e.Extensions()[schemas.ExtPartitionKey], want)
			}
			if err := v.Validate(schemas.TypeEventRejected, e.Data()); err != nil {
				t.Fatalf("data Validate: got %v, want nil", err)
			}
		})
	}
}

func TestRejectInvalid(t *testing.T) {
	// A refusal without reasons breaks the contract (reasons: minItems 1).
	pub := &fakePublisher{}
	err := newWriter(t, pub).Reject(context.Background(), "item-1", schemas.EventRejected{Kind: "bid"}, now)
	var verr *schemas.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Reject: got %v, want a *schemas.ValidationError", err)
	}
	if calls := pub.Calls(); len(calls) != 0 {
		t.Fatalf("publish calls: got %v, want none", calls)
	}
}

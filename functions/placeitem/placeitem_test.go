package placeitem_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

var now = time.Date(2030, 3, 14, 18, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// validRequest is a request every rule accepts; each case breaks one thing.
func validRequest() placeitem.Request {
	return placeitem.Request{
		SellerID: "seller-1", Title: "Bicycle", Description: "A red bicycle.", Category: "bikes",
		Currency: "EUR", StartingPrice: 1000, DurationSeconds: 3600,
	}
}

type fieldCode struct{ Field, Code string }

func fieldCodes(errs []schemas.FieldError) []fieldCode {
	out := make([]fieldCode, 0, len(errs))
	for _, e := range errs {
		if e.Message == "" {
			// Every reason explains itself to the seller.
			out = append(out, fieldCode{e.Field, e.Code + " (no message)"})
			continue
		}
		out = append(out, fieldCode{e.Field, e.Code})
	}
	slices.SortFunc(out, func(a, b fieldCode) int { return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Code, b.Code)) })
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *placeitem.Request)
		want   []fieldCode
	}{
		{name: "valid duration", modify: func(*placeitem.Request) {}},
		{name: "valid endsAt", modify: func(r *placeitem.Request) {
			r.DurationSeconds, r.EndsAt = 0, ptr(now.Add(24*time.Hour))
		}},
		{name: "valid endsAt in another zone", modify: func(r *placeitem.Request) {
			r.DurationSeconds, r.EndsAt = 0, ptr(now.Add(time.Hour).In(time.FixedZone("CET", 3600)))
		}},
		{name: "reserve equal to start", modify: func(r *placeitem.Request) { r.ReservePrice = ptr(r.StartingPrice) }},
		{name: "title of 120 multibyte runes", modify: func(r *placeitem.Request) { r.Title = strings.Repeat("é", 120) }},
		{name: "description of 4000 runes", modify: func(r *placeitem.Request) { r.Description = strings.Repeat("ü", 4000) }},
		{name: "category of 40", modify: func(r *placeitem.Request) { r.Category = strings.Repeat("a", 38) + "-9" }},
		{name: "shortest duration", modify: func(r *placeitem.Request) { r.DurationSeconds = 10 }},
		{name: "longest duration", modify: func(r *placeitem.Request) { r.DurationSeconds = 30 * 24 * 3600 }},
		{name: "largest JSON-safe price", modify: func(r *placeitem.Request) { r.StartingPrice = 1<<53 - 1 }},

		{name: "title empty", modify: func(r *placeitem.Request) { r.Title = "" },
			want: []fieldCode{{"/title", "length"}}},
		{name: "title blank", modify: func(r *placeitem.Request) { r.Title = " \t\n " },
			want: []fieldCode{{"/title", "length"}}},
		{name: "title too long", modify: func(r *placeitem.Request) { r.Title = strings.Repeat("é", 121) },
			want: []fieldCode{{"/title", "length"}}},
		{name: "description too long", modify: func(r *placeitem.Request) { r.Description = strings.Repeat("x", 4001) },
			want: []fieldCode{{"/description", "length"}}},
		{name: "title that displays backwards", modify: func(r *placeitem.Request) { r.Title = "Bicycle \u202Eder" },
			want: []fieldCode{{"/title", "text"}}},
		{name: "title with NUL", modify: func(r *placeitem.Request) { r.Title = "Bicycle\x00" },
			want: []fieldCode{{"/title", "text"}}},
		{name: "description with an isolate", modify: func(r *placeitem.Request) { r.Description = "red \u2067x" },
			want: []fieldCode{{"/description", "text"}}},
		{name: "description of lines and tabs", modify: func(r *placeitem.Request) { r.Description = "red\r\n\tfast" }},
		{name: "category empty", modify: func(r *placeitem.Request) { r.Category = "" },
			want: []fieldCode{{"/category", "pattern"}}},
		{name: "category uppercase", modify: func(r *placeitem.Request) { r.Category = "Bikes" },
			want: []fieldCode{{"/category", "pattern"}}},
		{name: "category underscore", modify: func(r *placeitem.Request) { r.Category = "road_bikes" },
			want: []fieldCode{{"/category", "pattern"}}},
		{name: "category too long", modify: func(r *placeitem.Request) { r.Category = strings.Repeat("a", 41) },
			want: []fieldCode{{"/category", "pattern"}}},
		{name: "currency unknown", modify: func(r *placeitem.Request) { r.Currency = "XXX" },
			want: []fieldCode{{"/currency", "currency"}}},
		{name: "currency lowercase", modify: func(r *placeitem.Request) { r.Currency = "eur" },
			want: []fieldCode{{"/currency", "currency"}}},
		{name: "currency empty", modify: func(r *placeitem.Request) { r.Currency = "" },
			want: []fieldCode{{"/currency", "currency"}}},
		{name: "price zero", modify: func(r *placeitem.Request) { r.StartingPrice = 0 },
			want: []fieldCode{{"/startingPrice", "minimum"}}},
		{name: "price negative", modify: func(r *placeitem.Request) { r.StartingPrice = -5 },
			want: []fieldCode{{"/startingPrice", "minimum"}}},
		{name: "price beyond JSON-safe integers", modify: func(r *placeitem.Request) { r.StartingPrice = 1 << 53 },
			want: []fieldCode{{"/startingPrice", "maximum"}}},
		{name: "reserve below start", modify: func(r *placeitem.Request) { r.ReservePrice = ptr(r.StartingPrice - 1) },
			want: []fieldCode{{"/reservePrice", "minimum"}}},
		{name: "reserve beyond JSON-safe integers", modify: func(r *placeitem.Request) { r.ReservePrice = ptr(int64(1 << 60)) },
			want: []fieldCode{{"/reservePrice", "maximum"}}},
		{name: "both endsAt and duration", modify: func(r *placeitem.Request) { r.EndsAt = ptr(now.Add(time.Hour)) },
			want: []fieldCode{{"/endsAt", "exclusive"}}},
		{name: "neither endsAt nor duration", modify: func(r *placeitem.Request) { r.DurationSeconds = 0 },
			want: []fieldCode{{"/endsAt", "required"}}},
		{name: "duration too short", modify: func(r *placeitem.Request) { r.DurationSeconds = 9 },
			want: []fieldCode{{"/durationSeconds", "range"}}},
		{name: "duration negative", modify: func(r *placeitem.Request) { r.DurationSeconds = -3600 },
			want: []fieldCode{{"/durationSeconds", "range"}}},
		{name: "duration too long", modify: func(r *placeitem.Request) { r.DurationSeconds = 30*24*3600 + 1 },
			want: []fieldCode{{"/durationSeconds", "range"}}},
		// 2^55 s overflows time.Duration to exactly 0, so this would read as one hour.
		{name: "duration overflowing to an hour", modify: func(r *placeitem.Request) { r.DurationSeconds = 1<<55 + 3600 },
			want: []fieldCode{{"/durationSeconds", "range"}}},
		{name: "endsAt too soon", modify: func(r *placeitem.Request) {
			r.DurationSeconds, r.EndsAt = 0, ptr(now.Add(9*time.Second))
		}, want: []fieldCode{{"/endsAt", "range"}}},
		{name: "endsAt in the past", modify: func(r *placeitem.Request) {
			r.DurationSeconds, r.EndsAt = 0, ptr(now.Add(-time.Hour))
		}, want: []fieldCode{{"/endsAt", "range"}}},
		{name: "endsAt too late", modify: func(r *placeitem.Request) {
			r.DurationSeconds, r.EndsAt = 0, ptr(now.Add(30*24*time.Hour+time.Second))
		}, want: []fieldCode{{"/endsAt", "range"}}},
		{name: "soft close, default cap", modify: func(r *placeitem.Request) { r.SoftClose = &schemas.SoftClose{WindowSeconds: 120} }},
		{name: "soft close, widest", modify: func(r *placeitem.Request) {
			r.SoftClose = &schemas.SoftClose{WindowSeconds: 3600, MaxExtensionSeconds: 86400}
		}},
		{name: "soft close window too short", modify: func(r *placeitem.Request) { r.SoftClose = &schemas.SoftClose{WindowSeconds: 9} },
			want: []fieldCode{{"/softClose", "range"}}},
		{name: "soft close cap below one window", modify: func(r *placeitem.Request) {
			r.SoftClose = &schemas.SoftClose{WindowSeconds: 120, MaxExtensionSeconds: 119}
		}, want: []fieldCode{{"/softClose", "range"}}},
		{name: "soft close cap too long", modify: func(r *placeitem.Request) {
			r.SoftClose = &schemas.SoftClose{WindowSeconds: 120, MaxExtensionSeconds: 86401}
		}, want: []fieldCode{{"/softClose", "range"}}},
		{name: "every rule at once", modify: func(r *placeitem.Request) {
			*r = placeitem.Request{Description: strings.Repeat("x", 4001), Category: "A B", Currency: "FOO",
				StartingPrice: -1, ReservePrice: ptr(int64(-2))}
		}, want: []fieldCode{
			{"/category", "pattern"}, {"/currency", "currency"}, {"/description", "length"},
			{"/endsAt", "required"}, {"/reservePrice", "minimum"}, {"/startingPrice", "minimum"}, {"/title", "length"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.modify(&req)
			got := fieldCodes(placeitem.Validate(req, now))
			want := tt.want
			if want == nil {
				want = []fieldCode{}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Validate: got %v, want %v", got, want)
			}
		})
	}
}

func TestEnrich(t *testing.T) {
	seller := userdir.User{ID: "seller-1", Name: "Ada Lovelace", Email: "ada@example.com",
		Address: userdir.Address{Line1: "12 St James's Square", City: "London", Postcode: "SW1Y 4LB", Country: "gb"}}
	endsAt := time.Date(2030, 3, 20, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name   string
		modify func(r *placeitem.Request)
		want   schemas.ItemPlaced
	}{
		{
			name:   "duration",
			modify: func(r *placeitem.Request) { r.Title = "  Bicycle  " },
			want: schemas.ItemPlaced{
				ItemID: "item-1", Seller: schemas.Party{ID: "seller-1", Name: "Ada Lovelace", Location: "GB-LON"},
				Title: "Bicycle", Description: "A red bicycle.", Category: "bikes",
				StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"},
				MinIncrement:  schemas.Money{Amount: 10, Currency: "EUR"},
				EndsAt:        now.Add(time.Hour), PlacedAt: now,
			},
		},
		{
			name: "endsAt and reserve",
			modify: func(r *placeitem.Request) {
				r.DurationSeconds, r.EndsAt, r.StartingPrice, r.ReservePrice = 0, &endsAt, 50, ptr(int64(700))
			},
			want: schemas.ItemPlaced{
				ItemID: "item-1", Seller: schemas.Party{ID: "seller-1", Name: "Ada Lovelace", Location: "GB-LON"},
				Title: "Bicycle", Description: "A red bicycle.", Category: "bikes",
				StartingPrice: schemas.Money{Amount: 50, Currency: "EUR"},
				ReservePrice:  &schemas.Money{Amount: 700, Currency: "EUR"},
				MinIncrement:  schemas.Money{Amount: 1, Currency: "EUR"},
				EndsAt:        endsAt.UTC(), PlacedAt: now,
			},
		},
		{
			name:   "soft close: the default cap filled in",
			modify: func(r *placeitem.Request) { r.SoftClose = &schemas.SoftClose{WindowSeconds: 120} },
			want: schemas.ItemPlaced{
				ItemID: "item-1", Seller: schemas.Party{ID: "seller-1", Name: "Ada Lovelace", Location: "GB-LON"},
				Title: "Bicycle", Description: "A red bicycle.", Category: "bikes",
				StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"},
				MinIncrement:  schemas.Money{Amount: 10, Currency: "EUR"},
				EndsAt:        now.Add(time.Hour), PlacedAt: now,
				SoftClose: &schemas.SoftClose{WindowSeconds: 120, MaxExtensionSeconds: 3600},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.modify(&req)
			got := placeitem.Enrich(req, seller, now, "item-1")
			if (got.ReservePrice == nil) != (tt.want.ReservePrice == nil) ||
				got.ReservePrice != nil && *got.ReservePrice != *tt.want.ReservePrice {
				t.Fatalf("ReservePrice: got %v, want %v", got.ReservePrice, tt.want.ReservePrice)
			}
			if got.EndsAt.Location() != time.UTC {
				t.Fatalf("EndsAt location: got %v, want UTC", got.EndsAt.Location())
			}
			if !reflect.DeepEqual(got.SoftClose, tt.want.SoftClose) {
				t.Fatalf("SoftClose: got %+v, want %+v", got.SoftClose, tt.want.SoftClose)
			}
			got.ReservePrice, tt.want.ReservePrice = nil, nil
			got.SoftClose, tt.want.SoftClose = nil, nil
			if got != tt.want {
				t.Fatalf("Enrich:\n got %+v,\nwant %+v", got, tt.want)
			}
		})
	}
}

// fakeUsers fails every lookup with err.
type fakeUsers struct{ err error }

func (f fakeUsers) Get(context.Context, string) (userdir.User, error) { return userdir.User{}, f.err }

type published struct {
	topic string
	event event.Event
}

// fakePublisher records what the function publishes, or fails with err.
type fakePublisher struct {
	mu     sync.Mutex
	events []published
	err    error
}

func (p *fakePublisher) PublishEvents(_ context.Context, topic string, events ...event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	for _, e := range events {
		p.events = append(p.events, published{topic, e})
	}
	return nil
}

func (p *fakePublisher) Published() []published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

func directory(t *testing.T, us ...userdir.User) *userdir.Memory {
	t.Helper()
	m := userdir.NewMemory()
	for _, u := range us {
		if err := m.Create(context.Background(), u); err != nil {
			t.Fatalf("Create(%s): got %v, want nil", u.ID, err)
		}
	}
	return m
}

func newFunction(dir placeitem.Users, pub placeitem.Publisher) *faas.Function[placeitem.Request, placeitem.Result] {
	return faas.New(placeitem.Init(placeitem.Deps{Users: dir, Publisher: pub, Now: func() time.Time { return now }}),
		faas.Options{Name: "placeitem"})
}

func validator(t *testing.T) *schemas.Validator {
	t.Helper()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: got %v, want nil", err)
	}
	return v
}

func TestHandleAccepted(t *testing.T) {
	tests := []struct {
		name     string
		address  userdir.Address
		location string
	}{
		{name: "London", address: userdir.Address{City: "London", Country: "GB"}, location: "GB-LON"},
		{name: "no address", location: ""},
		// Cities the schema's location pattern ([A-Z0-9]{1,3}) cannot hold verbatim.
		{name: "Zürich", address: userdir.Address{City: "Zürich", Country: "CH"}, location: "CH-ZUR"},
		{name: "St. Louis", address: userdir.Address{City: "St. Louis", Country: "US"}, location: "US-STL"},
		{name: "Łódź", address: userdir.Address{City: "Łódź", Country: "PL"}, location: "PL-ODZ"},
		{name: "Αθήνα", address: userdir.Address{City: "Αθήνα", Country: "GR"}, location: "GR"},
	}
	v := validator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seller := userdir.User{ID: "seller-1", Name: "Ada", Email: "ada@example.com", Address: tt.address}
			pub := &fakePublisher{}
			fn := newFunction(directory(t, seller), pub)
			req := validRequest()
			req.ReservePrice = ptr(int64(5000))

			res, err := fn.Invoke(context.Background(), req)
			if err != nil {
				t.Fatalf("Invoke: got %v, want nil", err)
			}
			if !res.Accepted() || res.ItemID == "" {
				t.Fatalf("result: got %+v, want accepted with an item id", res)
			}
			if want := now.Add(time.Hour); !res.EndsAt.Equal(want) {
				t.Fatalf("EndsAt: got %v, want %v", res.EndsAt, want)
			}
			got := pub.Published()
			if len(got) != 1 {
				t.Fatalf("published: got %d events, want 1", len(got))
			}
			e := got[0].event
			if got[0].topic != schemas.TopicItems {
				t.Fatalf("topic: got %q, want %q", got[0].topic, schemas.TopicItems)
			}
			if e.Type() != schemas.TypeItemPlaced {
				t.Fatalf("type: got %q, want %q", e.Type(), schemas.TypeItemPlaced)
			}
			if e.Subject() != res.ItemID || e.ID() != res.ItemID {
				t.Fatalf("subject, id: got %q, %q, want %q", e.Subject(), e.ID(), res.ItemID)
			}
			if key := e.Extensions()[schemas.ExtPartitionKey]; key != res.ItemID {
				t.Fatalf("partitionkey: got %v, want %q", key, res.ItemID)
			}
			if !e.Time().Equal(now) {
				t.Fatalf("time: got %v, want %v", e.Time(), now)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("CloudEvent Validate: got %v, want nil", err)
			}
			if err := v.Validate(schemas.TypeItemPlaced, e.Data()); err != nil {
				t.Fatalf("data Validate: got %v, want nil", err)
			}
			item, err := schemas.Data[schemas.ItemPlaced](e, schemas.TypeItemPlaced)
			if err != nil {
				t.Fatalf("Data: got %v, want nil", err)
			}
			if item.ItemID != res.ItemID || item.Seller.ID != "seller-1" || item.Seller.Location != tt.location {
				t.Fatalf("item: got id %q seller %+v, want id %q seller seller-1 at %q", item.ItemID, item.Seller, res.ItemID, tt.location)
			}
			if item.ReservePrice == nil || item.ReservePrice.Amount != 5000 {
				t.Fatalf("reserve: got %v, want 5000 EUR", item.ReservePrice)
			}
		})
	}
}

func TestHandleRejected(t *testing.T) {
	seller := userdir.User{ID: "seller-1", Name: "Ada", Email: "ada@example.com"}
	tests := []struct {
		name   string
		modify func(r *placeitem.Request)
		want   []fieldCode
	}{
		{name: "invalid item", modify: func(r *placeitem.Request) { r.Title, r.Currency = "", "XXX" },
			want: []fieldCode{{"/currency", "currency"}, {"/title", "length"}}},
		{name: "unknown seller", modify: func(r *placeitem.Request) { r.SellerID = "nobody" },
			want: []fieldCode{{"/sellerId", "unknown_user"}}},
		{name: "unknown seller and invalid item", modify: func(r *placeitem.Request) { r.SellerID, r.StartingPrice = "nobody", 0 },
			want: []fieldCode{{"/sellerId", "unknown_user"}, {"/startingPrice", "minimum"}}},
	}
	v := validator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			fn := newFunction(directory(t, seller), pub)
			req := validRequest()
			tt.modify(&req)

			res, err := fn.Invoke(context.Background(), req)
			if err != nil {
				t.Fatalf("Invoke: got %v, want nil", err)
			}
			if res.Accepted() || res.ItemID != "" {
				t.Fatalf("result: got %+v, want rejected without an item id", res)
			}
			if got := fieldCodes(res.Reasons); !slices.Equal(got, tt.want) {
				t.Fatalf("reasons: got %v, want %v", got, tt.want)
			}
			got := pub.Published()
			if len(got) != 1 {
				t.Fatalf("published: got %d events, want 1", len(got))
			}
			e := got[0].event
			if got[0].topic != schemas.TopicRejected || e.Type() != schemas.TypeEventRejected {
				t.Fatalf("topic, type: got %q, %q, want %q, %q", got[0].topic, e.Type(), schemas.TopicRejected, schemas.TypeEventRejected)
			}
			if err := v.Validate(schemas.TypeEventRejected, e.Data()); err != nil {
				t.Fatalf("data Validate: got %v, want nil", err)
			}
			rej, err := schemas.Data[schemas.EventRejected](e, schemas.TypeEventRejected)
			if err != nil {
				t.Fatalf("Data: got %v, want nil", err)
			}
			if rej.Kind != "item" || rej.UserID != req.SellerID || !rej.RejectedAt.Equal(now) {
				t.Fatalf("rejection: got %+v, want kind item, user %q, at %v", rej, req.SellerID, now)
			}
			if !slices.Equal(rej.Reasons, res.Reasons) {
				t.Fatalf("logged reasons: got %v, want %v", rej.Reasons, res.Reasons)
			}
		})
	}
}

func TestHandleErrors(t *testing.T) {
	errBroker := fmt.Errorf("broker: %w", kafkaio.ErrUnavailable)
	errDirectory := errors.New("directory: connection refused")
	seller := userdir.User{ID: "seller-1", Name: "Ada", Email: "ada@example.com"}
	tests := []struct {
		name    string
		users   func(t *testing.T) placeitem.Users
		pubErr  error
		modify  func(r *placeitem.Request)
		wantErr error
	}{
		{name: "publishing an item fails", users: func(t *testing.T) placeitem.Users { return directory(t, seller) },
			pubErr: errBroker, modify: func(*placeitem.Request) {}, wantErr: kafkaio.ErrUnavailable},
		{name: "publishing a rejection fails", users: func(t *testing.T) placeitem.Users { return directory(t, seller) },
			pubErr: errBroker, modify: func(r *placeitem.Request) { r.Title = "" }, wantErr: kafkaio.ErrUnavailable},
		{name: "directory fails", users: func(*testing.T) placeitem.Users { return fakeUsers{err: errDirectory} },
			modify: func(*placeitem.Request) {}, wantErr: errDirectory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{err: tt.pubErr}
			fn := newFunction(tt.users(t), pub)
			req := validRequest()
			tt.modify(&req)
			res, err := fn.Invoke(context.Background(), req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Invoke error: got %v, want it to wrap %v", err, tt.wantErr)
			}
			if res.ItemID != "" || len(res.Reasons) != 0 {
				t.Fatalf("result: got %+v, want zero", res)
			}
			if n := len(pub.Published()); n != 0 {
				t.Fatalf("published: got %d events, want 0", n)
			}
		})
	}
}

// TestIdempotentID: a retry of one request under one key names one item,
// which the function places under that id; any other request under the key
// (another field, another key, another seller) names another.
func TestIdempotentID(t *testing.T) {
	base := validRequest()
	id := placeitem.IdempotentID("k-1", base)
	withID := base
	withID.ItemID = "ignored"
	if got := placeitem.IdempotentID("k-1", withID); got != id {
		t.Errorf("a request that already carries an id: %s, want %s (the id is not part of the request)", got, id)
	}
	others := map[string]string{"another key": placeitem.IdempotentID("k-2", base)}
	for what, change := range map[string]func(*placeitem.Request){
		"another title":   func(r *placeitem.Request) { r.Title += "!" },
		"another seller":  func(r *placeitem.Request) { r.SellerID = "seller-2" },
		"another reserve": func(r *placeitem.Request) { r.ReservePrice = ptr(int64(5000)) },
	} {
		r := base
		change(&r)
		others[what] = placeitem.IdempotentID("k-1", r)
	}
	for what, other := range others {
		if other == id {
			t.Errorf("%s: the same id %s as the first request", what, id)
		}
	}

	seller := userdir.User{ID: base.SellerID, Name: "Ada", Email: "ada@example.com"}
	pub := &fakePublisher{}
	withID.ItemID = id
	res, err := newFunction(directory(t, seller), pub).Invoke(context.Background(), withID)
	if err != nil || res.ItemID != id {
		t.Fatalf("Invoke with ItemID %s: %+v, %v; want that id", id, res, err)
	}
	if got := pub.Published(); len(got) != 1 || got[0].event.ID() != id {
		t.Fatalf("published %+v, want one event with id %s", got, id)
	}
}

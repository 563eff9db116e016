package placebid_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

var now = time.Date(2030, 3, 14, 18, 0, 0, 0, time.UTC)

const maxAmount = 1<<53 - 1

// The catalogue every test bids against.
const (
	itemOpen   = "item-open"   // seller-1, GBP, ends in an hour
	itemClosed = "item-closed" // closed early, though endsAt is ahead
	itemEnded  = "item-ended"  // endsAt is exactly now
	itemPast   = "item-past"   // endsAt was a second ago
	itemSoon   = "item-soon"   // endsAt is a nanosecond ahead: still open
	itemEUR    = "item-eur"    // seller-2, EUR
)

var (
	bidder = userdir.User{ID: "bidder-1", Name: "Grace Hopper", Email: "grace@example.com",
		Address: userdir.Address{City: "New York", Country: "US"}}
	seller = userdir.User{ID: "seller-1", Name: "Ada Lovelace", Email: "ada@example.com",
		Address: userdir.Address{City: "London", Country: "GB"}}
)

// fakeItems is the item view: a fixed catalogue, or err for every lookup.
type fakeItems struct {
	items map[string]placebid.Item
	err   error
}

func (f fakeItems) Item(_ context.Context, id string) (placebid.Item, bool, error) {
	if f.err != nil {
		return placebid.Item{}, false, f.err
	}
	it, ok := f.items[id]
	return it, ok, nil
}

func catalogue() fakeItems {
	return fakeItems{items: map[string]placebid.Item{
		itemOpen:   {SellerID: "seller-1", Currency: "GBP", EndsAt: now.Add(time.Hour)},
		itemClosed: {SellerID: "seller-1", Currency: "GBP", EndsAt: now.Add(time.Hour), Closed: true},
		itemEnded:  {SellerID: "seller-1", Currency: "GBP", EndsAt: now},
		itemPast:   {SellerID: "seller-1", Currency: "GBP", EndsAt: now.Add(-time.Second)},
		itemSoon:   {SellerID: "seller-1", Currency: "GBP", EndsAt: now.Add(time.Nanosecond)},
		itemEUR:    {SellerID: "seller-2", Currency: "EUR", EndsAt: now.Add(time.Hour)},
	}}
}

// fakeUsers fails every lookup with err.
type fakeUsers struct{ err error }

func (f fakeUsers) Get(context.Context, string) (userdir.User, error) { return userdir.User{}, f.err }

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

// call is one PublishEvents call.
type call struct {
	topic  string
	events []event.Event
}

// fakePublisher records every PublishEvents call, or fails the calls to a
// topic listed in errs.
type fakePublisher struct {
	mu    sync.Mutex
	calls []call
	errs  map[string]error
}

func (p *fakePublisher) PublishEvents(_ context.Context, topic string, events ...event.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.errs[topic]; err != nil {
		return err
	}
	p.calls = append(p.calls, call{topic, slices.Clone(events)})
	return nil
}

func (p *fakePublisher) Calls() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// events is every event published to topic, over all calls.
func (p *fakePublisher) events(topic string) []event.Event {
	var out []event.Event
	for _, c := range p.Calls() {
		if c.topic == topic {
			out = append(out, c.events...)
		}
	}
	return out
}

func deps(dir placebid.Users, items placebid.Items, pub placebid.Publisher) placebid.Deps {
	return placebid.Deps{Users: dir, Items: items, Publisher: pub, Now: func() time.Time { return now }}
}

func newFunction(d placebid.Deps) *faas.Function[placebid.Request, placebid.Result] {
	return faas.New(placebid.Init(d), faas.Options{Name: "placebid"})
}

func newBatch(d placebid.Deps) *faas.Function[[]placebid.Request, []placebid.Result] {
	return faas.New(placebid.InitBatch(d), faas.Options{Name: "placebids"})
}

func validator(t *testing.T) *schemas.Validator {
	t.Helper()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: got %v, want nil", err)
	}
	return v
}

// subjectID is the subjectId a refusal records for itemID: the id, unless
// it does not fit the contract's 128 characters.
func subjectID(itemID string) string {
	if utf8.RuneCountInString(itemID) > 128 {
		return ""
	}
	return itemID
}

type fieldCode struct{ Field, Code string }

func fieldCodes(errs []schemas.FieldError) []fieldCode {
	out := make([]fieldCode, 0, len(errs))
	for _, e := range errs {
		if e.Message == "" {
			// Every reason explains itself to the bidder.
			out = append(out, fieldCode{e.Field, e.Code + " (no message)"})
			continue
		}
		out = append(out, fieldCode{e.Field, e.Code})
	}
	slices.SortFunc(out, func(a, b fieldCode) int { return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Code, b.Code)) })
	return out
}

func TestRefusals(t *testing.T) {
	amountMin := fieldCode{"/amount", "minimum"}
	amountMax := fieldCode{"/amount", "maximum"}
	unknownItem := fieldCode{"/itemId", string(schemas.ReasonUnknownItem)}
	closed := fieldCode{"/itemId", string(schemas.ReasonAuctionClosed)}
	late := fieldCode{"/itemId", string(schemas.ReasonTooLate)}
	ownItem := fieldCode{"/itemId", string(schemas.ReasonOwnItem)}
	unknownBidder := fieldCode{"/bidderId", "unknown_user"}

	tests := []struct {
		name string
		req  placebid.Request
		want []fieldCode // nil: accepted
	}{
		{name: "valid", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1500}},
		{name: "smallest amount", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1}},
		{name: "largest JSON-safe amount", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: maxAmount}},
		{name: "a nanosecond before the end", req: placebid.Request{BidderID: "bidder-1", ItemID: itemSoon, Amount: 1500}},

		{name: "amount zero", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 0},
			want: []fieldCode{amountMin}},
		{name: "amount negative", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: -1},
			want: []fieldCode{amountMin}},
		{name: "amount most negative", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: -1 << 63},
			want: []fieldCode{amountMin}},
		{name: "amount beyond JSON-safe integers", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: maxAmount + 1},
			want: []fieldCode{amountMax}},
		{name: "amount largest int64", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1<<63 - 1},
			want: []fieldCode{amountMax}},
		{name: "unknown item", req: placebid.Request{BidderID: "bidder-1", ItemID: "no-such-item", Amount: 1500},
			want: []fieldCode{unknownItem}},
		{name: "no item id", req: placebid.Request{BidderID: "bidder-1", ItemID: "", Amount: 1500},
			want: []fieldCode{unknownItem}},
		// Item ids come from the URL or the batch body, unchecked: a refusal
		// must still be recorded, not fail as an invalid event.
		{name: "unknown item id longer than any id", req: placebid.Request{BidderID: "bidder-1", ItemID: strings.Repeat("x", 300), Amount: 1500},
			want: []fieldCode{unknownItem}},
		{name: "closed item", req: placebid.Request{BidderID: "bidder-1", ItemID: itemClosed, Amount: 1500},
			want: []fieldCode{closed}},
		// The bid is stamped now: at or after endsAt it is late, as the
		// processor would say.
		{name: "now is endsAt", req: placebid.Request{BidderID: "bidder-1", ItemID: itemEnded, Amount: 1500},
			want: []fieldCode{late}},
		{name: "now is past endsAt", req: placebid.Request{BidderID: "bidder-1", ItemID: itemPast, Amount: 1500},
			want: []fieldCode{late}},
		{name: "the seller, late", req: placebid.Request{BidderID: "seller-1", ItemID: itemPast, Amount: 1500},
			want: []fieldCode{late}},
		{name: "own item", req: placebid.Request{BidderID: "seller-1", ItemID: itemOpen, Amount: 1500},
			want: []fieldCode{ownItem}},
		{name: "unknown bidder", req: placebid.Request{BidderID: "nobody", ItemID: itemOpen, Amount: 1500},
			want: []fieldCode{unknownBidder}},
		{name: "amount, item and bidder at once", req: placebid.Request{BidderID: "nobody", ItemID: "no-such-item", Amount: 0},
			want: []fieldCode{amountMin, unknownBidder, unknownItem}},
		{name: "too much on a closed item by nobody", req: placebid.Request{BidderID: "nobody", ItemID: itemClosed, Amount: maxAmount + 1},
			want: []fieldCode{amountMax, unknownBidder, closed}},
		{name: "seller bids nothing on own item", req: placebid.Request{BidderID: "seller-1", ItemID: itemOpen, Amount: -5},
			want: []fieldCode{amountMin, ownItem}},
	}
	v := validator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			fn := newFunction(deps(directory(t, bidder, seller), catalogue(), pub))

			res, err := fn.Invoke(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Invoke: got %v, want nil", err)
			}
			if tt.want == nil {
				if !res.Accepted() || res.BidID == "" || len(res.Reasons) != 0 {
					t.Fatalf("result: got %+v, want accepted with a bid id", res)
				}
				if n := len(pub.events(schemas.TopicBids)); n != 1 {
					t.Fatalf("events on %s: got %d, want 1", schemas.TopicBids, n)
				}
				return
			}
			if res.Accepted() || res.BidID != "" {
				t.Fatalf("result: got %+v, want refused without a bid id", res)
			}
			if got := fieldCodes(res.Reasons); !slices.Equal(got, tt.want) {
				t.Fatalf("reasons: got %v, want %v", got, tt.want)
			}

			calls := pub.Calls()
			if len(calls) != 1 || len(calls[0].events) != 1 {
				t.Fatalf("publish calls: got %d (%v), want 1 with 1 event", len(calls), calls)
			}
			e := calls[0].events[0]
			if calls[0].topic != schemas.TopicRejected || e.Type() != schemas.TypeEventRejected {
				t.Fatalf("topic, type: got %q, %q, want %q, %q", calls[0].topic, e.Type(), schemas.TopicRejected, schemas.TypeEventRejected)
			}
			wantSubject := tt.req.ItemID
			if wantSubject == "" {
				wantSubject = e.ID() // nothing to key by: the refusal's own id
			}
			if e.Subject() != wantSubject {
				t.Fatalf("subject: got %q, want %q", e.Subject(), wantSubject)
			}
			if key := e.Extensions()[schemas.ExtPartitionKey]; key != wantSubject {
				t.Fatalf("partitionkey: got %v, want %q", key, wantSubject)
			}
			if !e.Time().Equal(now) {
				t.Fatalf("time: got %v, want %v", e.Time(), now)
			}
			if err := v.Validate(schemas.TypeEventRejected, e.Data()); err != nil {
				t.Fatalf("data Validate: got %v, want nil", err)
			}
			rej, err := schemas.Data[schemas.EventRejected](e, schemas.TypeEventRejected)
			if err != nil {
				t.Fatalf("Data: got %v, want nil", err)
			}
			if rej.Kind != "bid" || rej.UserID != tt.req.BidderID || !rej.RejectedAt.Equal(now) {
				t.Fatalf("rejection: got %+v, want kind bid, user %q, at %v", rej, tt.req.BidderID, now)
			}
			if want := subjectID(tt.req.ItemID); rej.SubjectID != want {
				t.Fatalf("subjectId: got %q, want %q", rej.SubjectID, want)
			}
			if !slices.Equal(rej.Reasons, res.Reasons) {
				t.Fatalf("logged reasons: got %v, want %v", rej.Reasons, res.Reasons)
			}
		})
	}
}

func TestAccepted(t *testing.T) {
	idem := placebid.IdempotentID("key-1", placebid.Request{BidderID: "bidder-1", ItemID: itemEUR, Amount: 1500})
	tests := []struct {
		name     string
		req      placebid.Request
		bidder   userdir.User
		currency string
		location string
	}{
		{name: "fresh id, GBP item", req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1500},
			bidder: bidder, currency: "GBP", location: "US-NEW"},
		{name: "idempotent id, EUR item", req: placebid.Request{BidderID: "bidder-1", ItemID: itemEUR, Amount: 1500, BidID: idem},
			bidder: bidder, currency: "EUR", location: "US-NEW"},
		{name: "bidder without address", req: placebid.Request{BidderID: "bidder-2", ItemID: itemOpen, Amount: 7},
			bidder: userdir.User{ID: "bidder-2", Name: "Anonymous", Email: "anon@example.com"}, currency: "GBP", location: ""},
		{name: "bidder in Zürich", req: placebid.Request{BidderID: "bidder-3", ItemID: itemEUR, Amount: maxAmount},
			bidder: userdir.User{ID: "bidder-3", Name: "Emmy", Email: "emmy@example.com",
				Address: userdir.Address{City: "Zürich", Country: "ch"}}, currency: "EUR", location: "CH-ZUR"},
	}
	v := validator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			fn := newFunction(deps(directory(t, tt.bidder, seller), catalogue(), pub))

			res, err := fn.Invoke(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Invoke: got %v, want nil", err)
			}
			if !res.Accepted() {
				t.Fatalf("result: got %+v, want accepted", res)
			}
			if tt.req.BidID != "" && res.BidID != tt.req.BidID {
				t.Fatalf("bid id: got %q, want the given %q", res.BidID, tt.req.BidID)
			}
			if tt.req.BidID == "" {
				id, err := uuid.Parse(res.BidID)
				if err != nil || id.Version() != 7 {
					t.Fatalf("bid id: got %q (%v), want a fresh UUIDv7", res.BidID, err)
				}
			}

			calls := pub.Calls()
			if len(calls) != 1 || len(calls[0].events) != 1 {
				t.Fatalf("publish calls: got %d (%v), want 1 with 1 event", len(calls), calls)
			}
			e := calls[0].events[0]
			if calls[0].topic != schemas.TopicBids || e.Type() != schemas.TypeBidPlaced {
				t.Fatalf("topic, type: got %q, %q, want %q, %q", calls[0].topic, e.Type(), schemas.TopicBids, schemas.TypeBidPlaced)
			}
			if e.ID() != res.BidID {
				t.Fatalf("event id: got %q, want the bid id %q", e.ID(), res.BidID)
			}
			if e.Subject() != tt.req.ItemID {
				t.Fatalf("subject: got %q, want %q", e.Subject(), tt.req.ItemID)
			}
			if key := e.Extensions()[schemas.ExtPartitionKey]; key != tt.req.ItemID {
				t.Fatalf("partitionkey: got %v, want %q", key, tt.req.ItemID)
			}
			if want := schemas.Source + "/functions/placebid"; e.Source() != want {
				t.Fatalf("source: got %q, want %q", e.Source(), want)
			}
			if !e.Time().Equal(now) {
				t.Fatalf("time: got %v, want %v", e.Time(), now)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("CloudEvent Validate: got %v, want nil", err)
			}
			if err := v.Validate(schemas.TypeBidPlaced, e.Data()); err != nil {
				t.Fatalf("data Validate: got %v, want nil", err)
			}
			got, err := schemas.Data[schemas.BidPlaced](e, schemas.TypeBidPlaced)
			if err != nil {
				t.Fatalf("Data: got %v, want nil", err)
			}
			want := schemas.BidPlaced{
				BidID:    res.BidID,
				ItemID:   tt.req.ItemID,
				Bidder:   schemas.Party{ID: tt.bidder.ID, Name: tt.bidder.Name, Location: tt.location},
				Amount:   schemas.Money{Amount: tt.req.Amount, Currency: tt.currency},
				PlacedAt: now,
			}
			if !got.PlacedAt.Equal(want.PlacedAt) {
				t.Fatalf("placedAt: got %v, want %v", got.PlacedAt, want.PlacedAt)
			}
			got.PlacedAt = want.PlacedAt
			if got != want {
				t.Fatalf("bid:\n got %+v,\nwant %+v", got, want)
			}
		})
	}
}

func TestFreshBidIDs(t *testing.T) {
	pub := &fakePublisher{}
	fn := newFunction(deps(directory(t, bidder, seller), catalogue(), pub))
	seen := map[string]bool{}
	for range 50 {
		res, err := fn.Invoke(context.Background(), placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1500})
		if err != nil {
			t.Fatalf("Invoke: got %v, want nil", err)
		}
		if seen[res.BidID] {
			t.Fatalf("bid id %q: got it twice, want a fresh id per bid", res.BidID)
		}
		seen[res.BidID] = true
	}
}

func TestErrors(t *testing.T) {
	errBroker := fmt.Errorf("broker: %w", kafkaio.ErrUnavailable)
	errDirectory := errors.New("directory: connection refused")
	errView := errors.New("item view: not ready")
	valid := placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1500}
	tests := []struct {
		name    string
		users   placebid.Users
		items   placebid.Items
		pubErrs map[string]error
		req     placebid.Request
		wantErr error
	}{
		{name: "publishing a bid fails", pubErrs: map[string]error{schemas.TopicBids: errBroker},
			req: valid, wantErr: kafkaio.ErrUnavailable},
		{name: "publishing a refusal fails", pubErrs: map[string]error{schemas.TopicRejected: errBroker},
			req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 0}, wantErr: kafkaio.ErrUnavailable},
		{name: "directory fails", users: fakeUsers{err: errDirectory}, req: valid, wantErr: errDirectory},
		{name: "item view fails", items: fakeItems{err: errView}, req: valid, wantErr: errView},
		{name: "item view fails on a refused amount", items: fakeItems{err: errView},
			req: placebid.Request{BidderID: "bidder-1", ItemID: itemOpen, Amount: 0}, wantErr: errView},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, items := tt.users, tt.items
			if dir == nil {
				dir = directory(t, bidder, seller)
			}
			if items == nil {
				items = catalogue()
			}
			pub := &fakePublisher{errs: tt.pubErrs}
			res, err := newFunction(deps(dir, items, pub)).Invoke(context.Background(), tt.req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Invoke error: got %v, want it to wrap %v", err, tt.wantErr)
			}
			if res.BidID != "" || len(res.Reasons) != 0 {
				t.Fatalf("result: got %+v, want zero", res)
			}
			if calls := pub.Calls(); len(calls) != 0 {
				t.Fatalf("publish calls: got %v, want none", calls)
			}
		})
	}
}

func TestIdempotentID(t *testing.T) {
	bid := placebid.Request{BidderID: "bidder-1", ItemID: "item-1", Amount: 6000}
	with := func(f func(*placebid.Request)) placebid.Request { r := bid; f(&r); return r }
	tests := []struct {
		name string
		keyA string
		reqA placebid.Request
		keyB string
		reqB placebid.Request
		same bool
	}{
		{name: "same key, same bid", keyA: "k1", reqA: bid, keyB: "k1", reqB: bid, same: true},
		{name: "other bidder, same key", keyA: "k1", reqA: bid, keyB: "k1", reqB: with(func(r *placebid.Request) { r.BidderID = "bidder-2" })},
		{name: "same bidder, other key", keyA: "k1", reqA: bid, keyB: "k2", reqB: bid},
		{name: "same key on another item", keyA: "k1", reqA: bid, keyB: "k1", reqB: with(func(r *placebid.Request) { r.ItemID = "item-2" })},
		{name: "same key, another amount", keyA: "k1", reqA: bid, keyB: "k1", reqB: with(func(r *placebid.Request) { r.Amount = 5500 })},
		{name: "boundary between bidder and key", keyA: "c", reqA: with(func(r *placebid.Request) { r.BidderID = "ab" }),
			keyB: "bc", reqB: with(func(r *placebid.Request) { r.BidderID = "a" })},
		{name: "boundary between key and item", keyA: "k|1", reqA: with(func(r *placebid.Request) { r.ItemID = "x" }),
			keyB: "k", reqB: with(func(r *placebid.Request) { r.ItemID = "1|x" })},
		{name: "empty key", keyA: "", reqA: bid, keyB: " ", reqB: bid},
		{name: "key is case-sensitive", keyA: "Key", reqA: bid, keyB: "key", reqB: bid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := placebid.IdempotentID(tt.keyA, tt.reqA)
			b := placebid.IdempotentID(tt.keyB, tt.reqB)
			if again := placebid.IdempotentID(tt.keyA, tt.reqA); again != a {
				t.Fatalf("IdempotentID twice: got %q then %q, want the same", a, again)
			}
			if got := a == b; got != tt.same {
				t.Fatalf("IdempotentID equal: got %v (%q, %q), want %v", got, a, b, tt.same)
			}
			id, err := uuid.Parse(a)
			if err != nil || id.Version() != 5 || id.String() != a {
				t.Fatalf("IdempotentID: got %q (%v), want a canonical name-based UUID", a, err)
			}
		})
	}
}

// TestIdempotentIDStable pins the derivation: ids already in the log must
// keep deduplicating after an upgrade. (Ids named by bidder and key alone,
// before the bid was part of the name, differ: a retry sent across that
// upgrade is a second bid of the same amount, which the rules refuse as not
// beating the first.)
func TestIdempotentIDStable(t *testing.T) {
	got := placebid.IdempotentID("key-1", placebid.Request{BidderID: "bidder-1", ItemID: "item-1", Amount: 6000})
	want := uuid.NewSHA1(uuid.MustParse("7c1f4a52-3a8e-4f0e-9a53-6f1d2b8e4c10"), []byte("8:bidder-1|5:key-1|6:item-1|6000")).String()
	if got != want {
		t.Fatalf("IdempotentID: got %q, want %q", got, want)
	}
}

func TestBatch(t *testing.T) {
	mixed := []placebid.Request{
		{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1500},
		{BidderID: "bidder-1", ItemID: itemOpen, Amount: 0},
		{BidderID: "bidder-1", ItemID: itemEUR, Amount: 2500},
		{BidderID: "bidder-1", ItemID: "no-such-item", Amount: 1500},
		{BidderID: "bidder-1", ItemID: itemSoon, Amount: maxAmount},
	}
	allRefused := []placebid.Request{
		{BidderID: "bidder-1", ItemID: itemClosed, Amount: 1500},
		{BidderID: "seller-1", ItemID: itemOpen, Amount: 1500},
		{BidderID: "nobody", ItemID: itemOpen, Amount: -1},
		{BidderID: "bidder-1", ItemID: strings.Repeat("é", 129), Amount: 1500},
	}
	allAccepted := []placebid.Request{
		{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1},
		{BidderID: "bidder-1", ItemID: itemOpen, Amount: 2},
	}
	tests := []struct {
		name string
		reqs []placebid.Request
		want [][]fieldCode // per bid; nil: accepted
	}{
		{name: "mixed", reqs: mixed, want: [][]fieldCode{
			nil, {{"/amount", "minimum"}}, nil, {{"/itemId", string(schemas.ReasonUnknownItem)}}, nil,
		}},
		{name: "all refused", reqs: allRefused, want: [][]fieldCode{
			{{"/itemId", string(schemas.ReasonAuctionClosed)}},
			{{"/itemId", string(schemas.ReasonOwnItem)}},
			{{"/amount", "minimum"}, {"/bidderId", "unknown_user"}},
			{{"/itemId", string(schemas.ReasonUnknownItem)}},
		}},
		{name: "all accepted", reqs: allAccepted, want: [][]fieldCode{nil, nil}},
		{name: "empty", reqs: nil, want: nil},
	}
	v := validator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			fn := newBatch(deps(directory(t, bidder, seller), catalogue(), pub))

			res, err := fn.Invoke(context.Background(), tt.reqs)
			if err != nil {
				t.Fatalf("Invoke: got %v, want nil", err)
			}
			if len(res) != len(tt.reqs) {
				t.Fatalf("results: got %d, want %d", len(res), len(tt.reqs))
			}
			var wantBids, wantRefused []placebid.Request
			var bidIDs []string
			for i, r := range res {
				if tt.want[i] == nil {
					if !r.Accepted() || r.BidID == "" {
						t.Fatalf("result %d: got %+v, want accepted with a bid id", i, r)
					}
					wantBids = append(wantBids, tt.reqs[i])
					bidIDs = append(bidIDs, r.BidID)
					continue
				}
				if r.Accepted() || r.BidID != "" {
					t.Fatalf("result %d: got %+v, want refused", i, r)
				}
				if got := fieldCodes(r.Reasons); !slices.Equal(got, tt.want[i]) {
					t.Fatalf("result %d reasons: got %v, want %v", i, got, tt.want[i])
				}
				wantRefused = append(wantRefused, tt.reqs[i])
			}

			// One produce call per topic, and none for a topic with nothing to write.
			perTopic := map[string]int{}
			for _, c := range pub.Calls() {
				perTopic[c.topic]++
			}
			wantCalls := map[string]int{}
			if len(wantBids) > 0 {
				wantCalls[schemas.TopicBids] = 1
			}
			if len(wantRefused) > 0 {
				wantCalls[schemas.TopicRejected] = 1
			}
			if fmt.Sprint(perTopic) != fmt.Sprint(wantCalls) {
				t.Fatalf("publish calls per topic: got %v, want %v", perTopic, wantCalls)
			}

			bids := pub.events(schemas.TopicBids)
			if len(bids) != len(wantBids) {
				t.Fatalf("events on %s: got %d, want %d", schemas.TopicBids, len(bids), len(wantBids))
			}
			for i, e := range bids {
				if e.Type() != schemas.TypeBidPlaced || e.ID() != bidIDs[i] || e.Subject() != wantBids[i].ItemID {
					t.Fatalf("bid event %d: got type %q id %q subject %q, want %q %q %q",
						i, e.Type(), e.ID(), e.Subject(), schemas.TypeBidPlaced, bidIDs[i], wantBids[i].ItemID)
				}
				if err := v.Validate(schemas.TypeBidPlaced, e.Data()); err != nil {
					t.Fatalf("bid event %d data Validate: got %v, want nil", i, err)
				}
				bid, err := schemas.Data[schemas.BidPlaced](e, schemas.TypeBidPlaced)
				if err != nil {
					t.Fatalf("Data: got %v, want nil", err)
				}
				if bid.Amount.Amount != wantBids[i].Amount || !bid.PlacedAt.Equal(now) {
					t.Fatalf("bid event %d: got %+v, want amount %d at %v", i, bid, wantBids[i].Amount, now)
				}
			}
			if ids := slices.Compact(slices.Sorted(slices.Values(bidIDs))); len(ids) != len(bidIDs) {
				t.Fatalf("bid ids: got %v, want distinct", bidIDs)
			}

			refused := pub.events(schemas.TopicRejected)
			if len(refused) != len(wantRefused) {
				t.Fatalf("events on %s: got %d, want %d", schemas.TopicRejected, len(refused), len(wantRefused))
			}
			for i, e := range refused {
				if e.Type() != schemas.TypeEventRejected || e.Subject() != wantRefused[i].ItemID {
					t.Fatalf("refusal %d: got type %q subject %q, want %q %q",
						i, e.Type(), e.Subject(), schemas.TypeEventRejected, wantRefused[i].ItemID)
				}
				if err := v.Validate(schemas.TypeEventRejected, e.Data()); err != nil {
					t.Fatalf("refusal %d data Validate: got %v, want nil", i, err)
				}
				rej, err := schemas.Data[schemas.EventRejected](e, schemas.TypeEventRejected)
				if err != nil {
					t.Fatalf("Data: got %v, want nil", err)
				}
				if want := subjectID(wantRefused[i].ItemID); rej.Kind != "bid" || rej.UserID != wantRefused[i].BidderID || rej.SubjectID != want {
					t.Fatalf("refusal %d: got %+v, want kind bid by %q on %q", i, rej, wantRefused[i].BidderID, want)
				}
			}
		})
	}
}

func TestBatchErrors(t *testing.T) {
	errBroker := fmt.Errorf("broker: %w", kafkaio.ErrUnavailable)
	errDirectory := errors.New("directory: connection refused")
	errView := errors.New("item view: not ready")
	mixed := []placebid.Request{
		{BidderID: "bidder-1", ItemID: itemOpen, Amount: 1500},
		{BidderID: "bidder-1", ItemID: itemOpen, Amount: 0},
	}
	tests := []struct {
		name      string
		users     placebid.Users
		items     placebid.Items
		pubErrs   map[string]error
		wantErr   error
		wantCalls []string // topics of the calls that succeeded before the failure
	}{
		{name: "publishing the bids fails", pubErrs: map[string]error{schemas.TopicBids: errBroker},
			wantErr: kafkaio.ErrUnavailable},
		// The bids are in the log by then; the caller is still told, so it
		// can retry the batch (the processor decides a duplicate bid id once).
		{name: "publishing the refusals fails", pubErrs: map[string]error{schemas.TopicRejected: errBroker},
			wantErr: kafkaio.ErrUnavailable, wantCalls: []string{schemas.TopicBids}},
		{name: "directory fails", users: fakeUsers{err: errDirectory}, wantErr: errDirectory},
		{name: "item view fails", items: fakeItems{err: errView}, wantErr: errView},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, items := tt.users, tt.items
			if dir == nil {
				dir = directory(t, bidder, seller)
			}
			if items == nil {
				items = catalogue()
			}
			pub := &fakePublisher{errs: tt.pubErrs}
			res, err := newBatch(deps(dir, items, pub)).Invoke(context.Background(), mixed)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Invoke error: got %v, want it to wrap %v", err, tt.wantErr)
			}
			if res != nil {
				t.Fatalf("results: got %+v, want nil", res)
			}
			var got []string
			for _, c := range pub.Calls() {
				got = append(got, c.topic)
			}
			if !slices.Equal(got, tt.wantCalls) {
				t.Fatalf("successful publish calls: got %v, want %v", got, tt.wantCalls)
			}
		})
	}
}

// TestItemsFuncAndWallClock wires the function as the binary does: items
// from a plain function and no Now, so bids are stamped by the wall clock.
func TestItemsFuncAndWallClock(t *testing.T) {
	var asked []string
	items := placebid.ItemsFunc(func(_ context.Context, id string) (placebid.Item, bool, error) {
		asked = append(asked, id)
		return placebid.Item{SellerID: "seller-1", Currency: "EUR", EndsAt: time.Now().Add(time.Hour)}, true, nil
	})
	pub := &fakePublisher{}
	fn := newFunction(placebid.Deps{Users: directory(t, bidder), Items: items, Publisher: pub})

	before := time.Now()
	res, err := fn.Invoke(context.Background(), placebid.Request{BidderID: "bidder-1", ItemID: "item-9", Amount: 10})
	after := time.Now()
	if err != nil || !res.Accepted() {
		t.Fatalf("Invoke: got %+v, %v, want accepted, nil", res, err)
	}
	if !slices.Equal(asked, []string{"item-9"}) {
		t.Fatalf("items asked: got %v, want [item-9]", asked)
	}
	bids := pub.events(schemas.TopicBids)
	if len(bids) != 1 {
		t.Fatalf("events on %s: got %d, want 1", schemas.TopicBids, len(bids))
	}
	bid, err := schemas.Data[schemas.BidPlaced](bids[0], schemas.TypeBidPlaced)
	if err != nil {
		t.Fatalf("Data: got %v, want nil", err)
	}
	if bid.PlacedAt.Before(before.Truncate(time.Microsecond)) || bid.PlacedAt.After(after) {
		t.Fatalf("placedAt: got %v, want between %v and %v", bid.PlacedAt, before, after)
	}
}

// TestBatchLooksEachItemUpOnce: a look-up reads an item's whole row, so a
// batch asks once per distinct item, and once more after a failed look-up.
func TestBatchLooksEachItemUpOnce(t *testing.T) {
	var asked []string
	failOnce := true
	items := placebid.ItemsFunc(func(_ context.Context, id string) (placebid.Item, bool, error) {
		asked = append(asked, id)
		if id == "flaky" && failOnce {
			failOnce = false
			return placebid.Item{}, false, errors.New("view not ready")
		}
		return placebid.Item{SellerID: "seller-1", Currency: "EUR", EndsAt: now.Add(time.Hour)}, id != "gone", nil
	})
	fn := newBatch(deps(directory(t, bidder), items, &fakePublisher{}))
	var reqs []placebid.Request
	for i := range 6 {
		reqs = append(reqs, placebid.Request{BidderID: "bidder-1", ItemID: []string{"a", "b", "gone"}[i%3], Amount: int64(10 + i)})
	}
	res, err := fn.Invoke(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"a", "b", "gone"}) {
		t.Errorf("items asked: got %v, want each once", asked)
	}
	if !res[0].Accepted() || !res[4].Accepted() || res[2].Accepted() || res[5].Accepted() {
		t.Errorf("results: got %+v, want a and b accepted, the unknown item refused", res)
	}

	// A failed look-up is not remembered: the next batch asks again.
	asked = nil
	if _, err := fn.Invoke(context.Background(), []placebid.Request{{BidderID: "bidder-1", ItemID: "flaky", Amount: 10}}); err == nil {
		t.Fatal("a batch whose look-up failed: got nil error")
	}
	if _, err := fn.Invoke(context.Background(), []placebid.Request{{BidderID: "bidder-1", ItemID: "flaky", Amount: 10}}); err != nil {
		t.Fatalf("the batch after: got %v", err)
	}
	if !slices.Equal(asked, []string{"flaky", "flaky"}) {
		t.Errorf("items asked: got %v, want flaky twice", asked)
	}
}

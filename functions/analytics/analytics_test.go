package analytics_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/schemas"
)

var endsAt = time.Date(2025, 3, 21, 18, 0, 0, 0, time.UTC)

func completed(id string) schemas.ItemCompleted {
	return schemas.ItemCompleted{
		ItemID: id, SellerID: "s1", Title: "Leica M6", Category: "cameras",
		Sold: true, WinnerID: "u2", Price: &schemas.Money{Amount: 230000, Currency: "GBP"},
		ReserveMet: true, BidCount: 8, Bidders: []string{"u3", "u2", "u1", "u2"},
		EndsAt: endsAt, ClosedAt: endsAt.Add(30 * time.Second),
	}
}

func TestFactFrom(t *testing.T) {
	tests := []struct {
		name    string
		change  func(ev *schemas.ItemCompleted)
		want    analytics.Fact
		wantErr error
	}{
		{
			name: "sold",
			want: analytics.Fact{
				ItemID: "i1", Category: "cameras", SellerID: "s1", Sold: true, WinnerID: "u2",
				Price: schemas.Money{Amount: 230000, Currency: "GBP"}, ReserveMet: true, BidCount: 8,
				Bidders: []string{"u1", "u2", "u3"}, EndsAt: endsAt, ClosedAt: endsAt.Add(30 * time.Second),
			},
		},
		{
			name: "unsold keeps no price",
			change: func(ev *schemas.ItemCompleted) {
				ev.Sold, ev.WinnerID, ev.ReserveMet = false, "", false
			},
			want: analytics.Fact{
				ItemID: "i1", Category: "cameras", SellerID: "s1", BidCount: 8,
				Bidders: []string{"u1", "u2", "u3"}, EndsAt: endsAt, ClosedAt: endsAt.Add(30 * time.Second),
			},
		},
		{
			name:   "times in UTC",
			change: func(ev *schemas.ItemCompleted) { ev.EndsAt = ev.EndsAt.In(time.FixedZone("UTC+2", 7200)) },
			want: analytics.Fact{
				ItemID: "i1", Category: "cameras", SellerID: "s1", Sold: true, WinnerID: "u2",
				Price: schemas.Money{Amount: 230000, Currency: "GBP"}, ReserveMet: true, BidCount: 8,
				Bidders: []string{"u1", "u2", "u3"}, EndsAt: endsAt, ClosedAt: endsAt.Add(30 * time.Second),
			},
		},
		{name: "sold without price", change: func(ev *schemas.ItemCompleted) { ev.Price = nil }, wantErr: analytics.ErrInvalidFact},
		{name: "no category", change: func(ev *schemas.ItemCompleted) { ev.Category = "" }, wantErr: analytics.ErrInvalidFact},
		{name: "no item id", change: func(ev *schemas.ItemCompleted) { ev.ItemID = "" }, wantErr: analytics.ErrInvalidFact},
		{name: "year 10000", change: func(ev *schemas.ItemCompleted) { ev.EndsAt = ev.EndsAt.AddDate(8000, 0, 0) }, wantErr: analytics.ErrInvalidFact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := completed("i1")
			if tt.change != nil {
				tt.change(&ev)
			}
			got, err := analytics.FactFrom(ev)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("FactFrom: got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FactFrom:\ngot  %+v\nwant %+v", got, tt.want)
			}
			if ev.Bidders[0] != "u3" {
				t.Errorf("FactFrom changed the event's bidders: got %q", ev.Bidders)
			}
		})
	}
}

// failingStore fails every Apply of one item.
type failingStore struct {
	analytics.Store
	item string
	err  error
}

func (f failingStore) Apply(ctx context.Context, fact analytics.Fact) error {
	if fact.ItemID == f.item {
		return f.err
	}
	return f.Store.Apply(ctx, fact)
}

func TestHandle(t *testing.T) {
	errDown := errors.New("store down")
	bad := completed("bad")
	bad.Price = nil
	tests := []struct {
		name      string
		store     func(*analytics.Memory) analytics.Store
		batch     []schemas.ItemCompleted
		wantIndex int // -1: no error
		wantErr   error
		wantCount int64
	}{
		{
			name:  "all applied, redeliveries once",
			batch: []schemas.ItemCompleted{completed("a"), completed("b"), completed("a")}, wantIndex: -1, wantCount: 2,
		},
		{
			name:  "invalid event stops the batch",
			batch: []schemas.ItemCompleted{completed("a"), completed("b"), bad, completed("c")}, wantIndex: 2, wantErr: analytics.ErrInvalidFact, wantCount: 2,
		},
		{
			name:      "store failure stops the batch",
			store:     func(m *analytics.Memory) analytics.Store { return failingStore{Store: m, item: "b", err: errDown} },
			batch:     []schemas.ItemCompleted{completed("a"), completed("b"), completed("c")},
			wantIndex: 1, wantErr: errDown, wantCount: 1,
		},
		{name: "empty batch", wantIndex: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := analytics.NewMemory()
			var st analytics.Store = mem
			if tt.store != nil {
				st = tt.store(mem)
			}
			err := analytics.New(analytics.Deps{Store: st}).Handle(t.Context(), tt.batch)
			if tt.wantIndex < 0 {
				if err != nil {
					t.Fatalf("Handle: got %v, want nil", err)
				}
			} else {
				var fe *analytics.FactError
				if !errors.As(err, &fe) {
					t.Fatalf("Handle: got %v, want a *FactError", err)
				}
				if fe.Index != tt.wantIndex || fe.ItemID != tt.batch[tt.wantIndex].ItemID {
					t.Errorf("FactError at %d (%s), want %d (%s)", fe.Index, fe.ItemID, tt.wantIndex, tt.batch[tt.wantIndex].ItemID)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Handle: got %v, want it to wrap %v", err, tt.wantErr)
				}
			}
			s, err := mem.Summary(t.Context(), "", time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if s.Completed != tt.wantCount {
				t.Errorf("completed after Handle: got %d, want %d", s.Completed, tt.wantCount)
			}
		})
	}
}

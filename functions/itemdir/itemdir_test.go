package itemdir_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/itemdir"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

var t0 = time.Date(2030, 3, 4, 5, 6, 7, 890, time.UTC)

// TestStoreContract runs one contract on the in-process store and on
// DynamoDB (dynalite, or DYNAMODB_ENDPOINT), a fresh table per subtest.
func TestStoreContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		runContract(t, func(*testing.T) itemdir.Store { return itemdir.NewMemory() })
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		runContract(t, func(t *testing.T) itemdir.Store {
			return itemdir.NewDynamo(client, dynamotest.NewTable(t, client, itemdir.EnsureTable))
		})
	})
}

func runContract(t *testing.T, open func(*testing.T) itemdir.Store) {
	ctx := context.Background()
	placed := placebid.Item{SellerID: "u-sam", Currency: "EUR", EndsAt: t0}
	closed := placed
	closed.Closed = true
	check := func(t *testing.T, s itemdir.Store, id string, want placebid.Item, wantOK bool) {
		t.Helper()
		got, ok, err := s.Item(ctx, id)
		if err != nil || ok != wantOK || got != want {
			t.Errorf("Item(%s) = %+v, %v, %v; want %+v, %v", id, got, ok, err, want, wantOK)
		}
	}
	t.Run("placed, then closed, each delivered twice", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		check(t, s, "item-1", placebid.Item{}, false)
		place := itemdir.Change{ItemID: "item-1", Placed: &placed}
		for range 2 {
			if err := s.Record(ctx, []itemdir.Change{place, {ItemID: "item-2", Placed: &placed}}); err != nil {
				t.Fatal(err)
			}
		}
		check(t, s, "item-1", placed, true)
		for range 2 {
			if err := s.Record(ctx, []itemdir.Change{{ItemID: "item-1", Closed: true}}); err != nil {
				t.Fatal(err)
			}
		}
		check(t, s, "item-1", closed, true)
		check(t, s, "item-2", placed, true)
		// A placement delivered again after the close does not reopen it.
		if err := s.Record(ctx, []itemdir.Change{place}); err != nil {
			t.Fatal(err)
		}
		check(t, s, "item-1", closed, true)
	})
	t.Run("a close before its placement waits for it", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if err := s.Record(ctx, []itemdir.Change{{ItemID: "item-3", Closed: true}}); err != nil {
			t.Fatal(err)
		}
		check(t, s, "item-3", placebid.Item{}, false)
		if err := s.Record(ctx, []itemdir.Change{{ItemID: "item-3", Placed: &placed}}); err != nil {
			t.Fatal(err)
		}
		check(t, s, "item-3", closed, true)
	})
}

// record encodes an event as the platform writes it to topic.
func record(t *testing.T, topic, typ, id, key string, data any) trigger.Record {
	t.Helper()
	e, err := schemas.NewEvent(typ, schemas.Meta{ID: id, Source: "/test", Subject: key, Key: key, Time: t0}, data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return trigger.Record{Topic: topic, Message: m}
}

// TestHandler: a placement records the item with the latest end its soft
// close allows, an extension passes over, a completion closes it; a record
// that is not a valid event of its topic (one under another item's key) is
// a permanent error at its index, after the changes before it are kept.
func TestHandler(t *testing.T) {
	eur := func(n int64) schemas.Money { return schemas.Money{Amount: n, Currency: "EUR"} }
	item := schemas.ItemPlaced{ItemID: "item-1", Seller: schemas.Party{ID: "u-sam", Name: "Sam Seller"}, Title: "Brass telescope",
		Category: "optics", StartingPrice: eur(5000), MinIncrement: eur(100), EndsAt: t0, PlacedAt: t0.Add(-time.Hour),
		SoftClose: &schemas.SoftClose{WindowSeconds: 60, MaxExtensionSeconds: 600}}
	other := item
	other.ItemID, other.SoftClose = "item-2", nil
	extended := schemas.ItemExtended{ItemID: "item-1", EndsAt: t0.Add(time.Minute), BidID: "b-1"}
	done := schemas.ItemCompleted{ItemID: "item-2", SellerID: "u-sam", Title: other.Title, Category: other.Category,
		Bidders: []string{}, EndsAt: t0, ClosedAt: t0.Add(2 * time.Second)}
	store := itemdir.NewMemory()
	h := itemdir.Handler(store)
	ctx := context.Background()
	if err := h(ctx, []trigger.Record{
		record(t, schemas.TopicItems, schemas.TypeItemPlaced, "item-1", "item-1", item),
		record(t, schemas.TopicItems, schemas.TypeItemPlaced, "item-2", "item-2", other),
		record(t, schemas.TopicItems, schemas.TypeItemExtended, "item-1.extended@1", "item-1", extended),
	}); err != nil {
		t.Fatal(err)
	}
	err := h(ctx, []trigger.Record{
		record(t, schemas.TopicItemComplete, schemas.TypeItemCompleted, "item-2.completed", "item-2", done),
		record(t, schemas.TopicItemComplete, schemas.TypeItemCompleted, "item-9.completed", "item-9", done),
	})
	var re *trigger.RecordError
	if !errors.As(err, &re) || re.Index != 1 || !re.Permanent {
		t.Fatalf("Handler: %v, want a permanent RecordError at index 1", err)
	}
	for id, want := range map[string]placebid.Item{
		"item-1": {SellerID: "u-sam", Currency: "EUR", EndsAt: t0.Add(10 * time.Minute)},
		"item-2": {SellerID: "u-sam", Currency: "EUR", EndsAt: t0, Closed: true},
	} {
		if got, ok, err := store.Item(ctx, id); err != nil || !ok || got != want {
			t.Errorf("Item(%s) = %+v, %v, %v; want %+v", id, got, ok, err, want)
		}
	}
}

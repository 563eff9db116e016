package bidhistory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

var t0 = time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)

func eur(n int64) schemas.Money { return schemas.Money{Amount: n, Currency: "EUR"} }

// TestStoreContract runs one contract on the in-process store and on
// DynamoDB (dynalite, or DYNAMODB_ENDPOINT), a fresh table per subtest.
func TestStoreContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		runContract(t, func(*testing.T) bidhistory.Store { return bidhistory.NewMemory() })
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		runContract(t, func(t *testing.T) bidhistory.Store {
			table := dynamotest.NewTable(t, client, func(ctx context.Context, api dynamotable.TableAPI, table string) error {
				return bidhistory.EnsureTable(ctx, api, table)
			})
			return bidhistory.NewDynamo(client, table)
		})
	})
}

func runContract(t *testing.T, open func(*testing.T) bidhistory.Store) {
	ctx := context.Background()
	entry := func(item string, i int) bidhistory.Entry {
		e := bidhistory.Entry{BidID: fmt.Sprintf("b-%02d", i), ItemID: item, BidderID: "u-bob", Amount: eur(int64(1000 + i)),
			Status: schemas.StatusAccepted, PlacedAt: t0.Add(time.Duration(i) * time.Second), DecidedAt: t0.Add(time.Duration(i)*time.Second + time.Millisecond), BidCount: i + 1}
		if i%3 == 2 {
			e.Status, e.Reason, e.Detail, e.BidCount = schemas.StatusRejected, schemas.ReasonBelowIncrement, "too low", 0
		}
		return e
	}
	t.Run("pages newest first, each bid once", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var all []bidhistory.Entry
		for i := range 7 {
			all = append(all, entry("item-1", i))
		}
		// Delivered out of order, some twice, with another item's beside.
		batches := [][]bidhistory.Entry{all[3:], all[:4], {entry("item-2", 0)}, all[5:6]}
		for _, b := range batches {
			if err := s.Record(ctx, b); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		var got []bidhistory.Entry
		cursor, pages := "", 0
		for {
			page, next, err := s.Page(ctx, "item-1", cursor, 3)
			if err != nil {
				t.Fatalf("Page(%q): %v", cursor, err)
			}
			pages++
			got = append(got, page...)
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("more pages than entries")
			}
			cursor = next
		}
		var want []bidhistory.Entry
		for i := len(all) - 1; i >= 0; i-- {
			want = append(want, all[i])
		}
		if !reflect.DeepEqual(got, want) || pages != 3 {
			t.Errorf("got %d pages %+v,\nwant 3 pages %+v", pages, got, want)
		}
	})
	t.Run("an item with none", func(t *testing.T) {
		t.Parallel()
		page, next, err := open(t).Page(ctx, "item-none", "", 10)
		if err != nil || len(page) != 0 || next != "" {
			t.Errorf("Page: %v, %q, %v; want nothing and no error", page, next, err)
		}
	})
	t.Run("a page exactly full has no next", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if err := s.Record(ctx, []bidhistory.Entry{entry("item-1", 0), entry("item-1", 1)}); err != nil {
			t.Fatal(err)
		}
		if page, next, err := s.Page(ctx, "item-1", "", 2); err != nil || len(page) != 2 || next != "" {
			t.Errorf("Page: %d entries, next %q, %v; want 2 and no next", len(page), next, err)
		}
	})
}

// verdict encodes a verdict as the processor writes it, under key.
func verdict(t *testing.T, typ string, data any, id, key string) trigger.Record {
	t.Helper()
	e, err := schemas.NewEvent(typ, schemas.Meta{ID: id, Source: "/test/processor", Subject: key, Key: key, Time: t0}, data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return trigger.Record{Topic: schemas.TopicBidResults, Message: m}
}

// TestHandler: accepted and rejected verdicts become entries; a record that
// is not a valid verdict (here one under another item's key) is a permanent
// error at its index, after the verdicts before it are kept.
func TestHandler(t *testing.T) {
	acc := schemas.BidAccepted{BidID: "b-1", ItemID: "item-1", BidderID: "u-bob", Amount: eur(6000), PlacedAt: t0, DecidedAt: t0.Add(time.Second), BidCount: 1}
	rej := schemas.BidRejected{BidID: "b-2", ItemID: "item-1", BidderID: "u-dan", Amount: eur(6010), Reason: schemas.ReasonBelowIncrement,
		Detail: "the highest bid is €60.00; bid at least €60.60", PlacedAt: t0, DecidedAt: t0.Add(2 * time.Second)}
	batch := []trigger.Record{
		verdict(t, schemas.TypeBidAccepted, acc, "b-1.result", "item-1"),
		verdict(t, schemas.TypeBidRejected, rej, "b-2.result", "item-1"),
		verdict(t, schemas.TypeBidAccepted, acc, "b-1.result", "item-9"), // under another item's key
	}
	store := bidhistory.NewMemory()
	err := bidhistory.Handler(store)(context.Background(), batch)
	var re *trigger.RecordError
	if !errors.As(err, &re) || re.Index != 2 || !re.Permanent {
		t.Fatalf("Handler: %v, want a permanent RecordError at index 2", err)
	}
	got, _, err := store.Page(context.Background(), "item-1", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []bidhistory.Entry{
		{BidID: "b-2", ItemID: "item-1", BidderID: "u-dan", Amount: eur(6010), Status: schemas.StatusRejected, Reason: rej.Reason,
			Detail: rej.Detail, PlacedAt: t0, DecidedAt: rej.DecidedAt},
		{BidID: "b-1", ItemID: "item-1", BidderID: "u-bob", Amount: eur(6000), Status: schemas.StatusAccepted, PlacedAt: t0,
			DecidedAt: acc.DecidedAt, BidCount: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history %+v,\nwant %+v", got, want)
	}
}

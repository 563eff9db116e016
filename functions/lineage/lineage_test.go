package lineage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func entry(corr, id, topic string, at time.Duration, cause string) lineage.Entry {
	return lineage.Entry{ID: id, Type: "t", Source: "/s", CorrelationID: corr, CausationID: cause,
		Topic: topic, Time: t0.Add(at), Partition: 1, Offset: int64(at)}
}

func ids(es []lineage.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// TestStoreContract runs one contract against Memory and against Dynamo on
// dynalite (or DYNAMODB_ENDPOINT), a fresh table per subtest.
func TestStoreContract(t *testing.T) {
	stores := map[string]func(t *testing.T) lineage.Store{
		"memory": func(*testing.T) lineage.Store { return lineage.NewMemory() },
		"dynamo": func(t *testing.T) lineage.Store {
			client := dynamotest.Client(t)
			return lineage.NewDynamo(client, dynamotest.NewTable(t, client, lineage.EnsureTable))
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			t.Run("ordered by time then flow", func(t *testing.T) {
				st := newStore(t)
				// Recorded out of order, in two calls, with another item between.
				if err := st.Record(ctx, []lineage.Entry{
					entry("a", "complete", schemas.TopicItemComplete, 3*time.Second, "close"),
					entry("b", "other", schemas.TopicItems, 0, ""),
					entry("a", "result", schemas.TopicBidResults, time.Second, "bid"),
				}); err != nil {
					t.Fatal(err)
				}
				if err := st.Record(ctx, []lineage.Entry{
					entry("a", "item", schemas.TopicItems, 0, ""),
					entry("a", "bid", schemas.TopicBids, time.Second, "item"), // same time as its result
					entry("a", "close", schemas.TopicBids, 2*time.Second, "item"),
				}); err != nil {
					t.Fatal(err)
				}
				got, err := st.Chain(ctx, "a")
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"item", "bid", "result", "close", "complete"}
				if !slices.Equal(ids(got), want) {
					t.Fatalf("chain = %v, want %v", ids(got), want)
				}
				if got[2] != entry("a", "result", schemas.TopicBidResults, time.Second, "bid") {
					t.Errorf("entry changed on the way: %+v", got[2])
				}
			})

			t.Run("first write of an id wins", func(t *testing.T) {
				st := newStore(t)
				first := entry("a", "bid", schemas.TopicBids, time.Second, "item")
				again := first
				again.Offset = 99 // the same event written again
				for _, e := range []lineage.Entry{first, again, again} {
					if err := st.Record(ctx, []lineage.Entry{e}); err != nil {
						t.Fatal(err)
					}
				}
				got, err := st.Chain(ctx, "a")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Offset != first.Offset {
					t.Fatalf("chain = %+v, want the first entry once", got)
				}
			})

			t.Run("concurrent writers", func(t *testing.T) {
				st := newStore(t)
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for w := range 4 {
					wg.Go(func() {
						var batch []lineage.Entry
						for i := range 30 {
							// Every writer writes ids 0..29; half of them also its own.
							batch = append(batch, entry("a", fmt.Sprint(i), schemas.TopicBids, time.Duration(i), ""))
							if i%2 == 0 {
								batch = append(batch, entry("a", fmt.Sprintf("w%d-%d", w, i), schemas.TopicBids, time.Duration(i), ""))
							}
						}
						errs <- st.Record(ctx, batch)
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				got, err := st.Chain(ctx, "a")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 30+4*15 {
					t.Fatalf("chain has %d entries, want %d", len(got), 30+4*15)
				}
			})

			t.Run("unknown item", func(t *testing.T) {
				got, err := newStore(t).Chain(ctx, "nobody")
				if err != nil || len(got) != 0 {
					t.Fatalf("Chain(unknown) = %v, %v; want empty, nil", got, err)
				}
			})
		})
	}
}

// TestFromRecord reads the attributes, origin and trace of a real record.
func TestFromRecord(t *testing.T) {
	e, err := schemas.NewEvent(schemas.TypeBidPlaced, schemas.Meta{
		ID: "bid-1", Source: "/auction/test", Subject: "item-1", Time: t0, CausationID: "item-1",
	}, map[string]string{"x": "y"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled,
	})
	m.Headers = telemetry.Inject(trace.ContextWithSpanContext(context.Background(), sc), m.Headers)
	rec := trigger.Record{Topic: schemas.TopicBids, Partition: 4, Offset: 17, Message: m}

	got, err := lineage.FromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := lineage.Entry{ID: "bid-1", Type: schemas.TypeBidPlaced, Source: "/auction/test", Subject: "item-1",
		Time: t0, CorrelationID: "item-1", CausationID: "item-1", TraceID: sc.TraceID().String(),
		Topic: schemas.TopicBids, Partition: 4, Offset: 17}
	if got != want {
		t.Fatalf("FromRecord = %+v\nwant %+v", got, want)
	}

	// Not an event, or no correlation: skipped by the handler, never an error.
	bare := trigger.Record{Topic: schemas.TopicBids, Message: cekafka.Message{Value: []byte("{}")}}
	if _, err := lineage.FromRecord(bare); !errors.Is(err, lineage.ErrNotEvent) {
		t.Errorf("FromRecord(bare) = %v, want ErrNotEvent", err)
	}
	st := lineage.NewMemory()
	h := lineage.Handler(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := h(context.Background(), []trigger.Record{bare, rec, rec}); err != nil {
		t.Fatal(err)
	}
	chain, _ := st.Chain(context.Background(), "item-1")
	if len(chain) != 1 || chain[0] != want {
		t.Fatalf("handler recorded %+v, want [%+v]", chain, want)
	}
}

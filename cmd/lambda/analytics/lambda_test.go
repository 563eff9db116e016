package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/cmd/lambda/internal/lambdatest"
	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/schemas"
	"github.com/aws/aws-lambda-go/events"
)

// TestUnderTheLambdaRuntime runs analytics as AWS Lambda runs it (see
// lambdatest), invoked with a Kafka event of two completions in two
// partitions, against a Kafka broker and dynalite: each auction is counted
// once, also when the same event is invoked again, as the event source
// mapping does after a failed call; with its table down and the mapping's
// partial batch response, the answer names each partition's first record.
func TestUnderTheLambdaRuntime(t *testing.T) {
	st := lambdatest.NewStores(t, schemas.TopicItemComplete, schemas.TopicAnalytics, schemas.TopicDeadLetter)
	client := st.Dynamo
	table := dynamotest.NewTable(t, client, analytics.EnsureTable)
	fn := lambdatest.Start(t, append(st.Env(), "AUCTION_ANALYTICS_TABLE="+table)...)

	run := time.Now().UnixNano()
	category := fmt.Sprintf("lamps-%d", run%1_000_000)
	closed := time.Now().UTC()
	sold := schemas.ItemCompleted{ItemID: fmt.Sprintf("item-a-%d", run), SellerID: "u-sam", Title: "Brass lamp", Category: category,
		Sold: true, WinnerID: "u-bob", Price: &schemas.Money{Amount: 15000, Currency: "EUR"}, ReserveMet: true, BidCount: 3,
		Bidders: []string{"u-bob", "u-dan"}, EndsAt: closed.Add(-2 * time.Second), ClosedAt: closed}
	unsold := schemas.ItemCompleted{ItemID: fmt.Sprintf("item-b-%d", run), SellerID: "u-sam", Title: "Oil lamp", Category: category,
		BidCount: 0, Bidders: []string{}, EndsAt: closed.Add(-2 * time.Second), ClosedAt: closed}
	ev := kafkaevent.Event(
		trigger.Record{Topic: schemas.TopicItemComplete, Partition: 0, Offset: 7, Message: lambdatest.Completion(t, "done-a", sold.ItemID, sold)},
		trigger.Record{Topic: schemas.TopicItemComplete, Partition: 2, Offset: 3, Message: lambdatest.Completion(t, "done-b", unsold.ItemID, unsold)},
	)
	store := analytics.NewDynamo(client, table)
	summary := func() analytics.Summary {
		s, err := store.Summary(t.Context(), category, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, what := range []string{"first (cold)", "second (warm), the same event"} {
		t.Logf("%s invocation: %s", what, fn.Invoke(t, ev))
		if s := summary(); s.Completed != 2 || s.Sold != 1 || s.Unsold != 1 || s.Bids != 3 {
			t.Errorf("after invocation %d: %+v, want 2 completed (1 sold, 1 not), 3 bids, each auction counted once", i+1, s)
		}
	}
	fn.LogFigures(t)

	// With the mapping's partial batch response, a table that does not
	// answer (here: none by that name) leaves each partition to the
	// mapping's retries from its first record, and the call succeeds.
	down := lambdatest.Start(t, append(st.Env(), "AUCTION_ANALYTICS_TABLE=no-such-table", "AUCTION_LAMBDA_PARTIAL_BATCH=true")...)
	var answer kafkaevent.Response
	down.Call(t, ev, &answer)
	want := []kafkaevent.Failure{{ItemIdentifier: kafkaevent.Item{Partition: "auction.item-complete-0", Offset: 7}},
		{ItemIdentifier: kafkaevent.Item{Partition: "auction.item-complete-2", Offset: 3}}}
	if !reflect.DeepEqual(answer.BatchItemFailures, want) {
		t.Errorf("with the table down, the answer names %+v, want %+v", answer.BatchItemFailures, want)
	}
}

// TestBatchOfAThousand invokes analytics under the emulator with the event
// the mapping delivers at its largest batch, 1,000 completions over three
// partitions (about 1.5 MB of JSON, under the 6 MB limit of a call), then
// with 1,000 more warm: each auction counted once. It is a measurement,
// run when AUCTION_LAMBDA_BATCH is set:
//
//	AUCTION_LAMBDA_BATCH=1 go test -count=1 -v -run TestBatchOfAThousand ./cmd/lambda/analytics/
func TestBatchOfAThousand(t *testing.T) {
	if os.Getenv("AUCTION_LAMBDA_BATCH") == "" {
		t.Skip("a measurement: set AUCTION_LAMBDA_BATCH=1")
	}
	st := lambdatest.NewStores(t, schemas.TopicItemComplete, schemas.TopicAnalytics, schemas.TopicDeadLetter)
	table := dynamotest.NewTable(t, st.Dynamo, analytics.EnsureTable)
	fn := lambdatest.Start(t, append(st.Env(), "AUCTION_ANALYTICS_TABLE="+table)...)
	run := time.Now().UnixNano()
	category := fmt.Sprintf("lots-%d", run%1_000_000)
	batch := func(from int) events.KafkaEvent {
		closed := time.Now().UTC()
		recs := make([]trigger.Record, 1000)
		for i := range recs {
			n := from + i
			ic := schemas.ItemCompleted{ItemID: fmt.Sprintf("item-%d-%d", run, n), SellerID: "u-sam", Title: "Lot", Category: category,
				Sold: true, WinnerID: "u-bob", Price: &schemas.Money{Amount: 1000 + int64(n), Currency: "EUR"}, ReserveMet: true, BidCount: 1,
				Bidders: []string{"u-bob"}, EndsAt: closed.Add(-time.Second), ClosedAt: closed}
			recs[i] = trigger.Record{Topic: schemas.TopicItemComplete, Partition: int32(n % 3), Offset: int64(n / 3),
				Message: lambdatest.Completion(t, fmt.Sprintf("done-%d", n), ic.ItemID, ic)}
		}
		return kafkaevent.Event(recs...)
	}
	store := analytics.NewDynamo(st.Dynamo, table)
	for i, what := range []string{"cold", "warm"} {
		ev := batch(i * 1000)
		body, _ := json.Marshal(ev)
		took := fn.Invoke(t, ev)
		t.Logf("%s: 1,000 completions, %d bytes of event: %s, %s a record", what, len(body), took, took/1000)
		s, err := store.Summary(t.Context(), category, time.Time{}, time.Time{})
		if err != nil || s.Completed != int64((i+1)*1000) {
			t.Fatalf("after the %s batch: %+v, %v; want %d completed", what, s, err, (i+1)*1000)
		}
	}
	fn.LogFigures(t)
}

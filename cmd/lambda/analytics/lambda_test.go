package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/cmd/lambda/internal/lambdatest"
	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/schemas"
)

// TestUnderTheLambdaRuntime runs analytics as AWS Lambda runs it (see
// lambdatest), invoked with a Kafka event of two completions in two
// partitions, against a Kafka broker and dynalite: each auction is counted
// once, also when the same event is invoked again, as the event source
// mapping does after a failed call.
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
}

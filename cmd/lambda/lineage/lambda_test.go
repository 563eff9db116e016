package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/cmd/lambda/internal/lambdatest"
	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
)

// TestUnderTheLambdaRuntime runs the lineage target as AWS Lambda runs it
// (see lambdatest), invoked with Kafka events as the mappings on
// auction.items and auction.bid-results deliver them, against a Kafka
// broker and dynalite: the item and its verdicts are in the item's
// lineage, each verdict once in its bid history, also when the same
// events are invoked again; a verdict under another item's key is
// dead-lettered with its origin (the lineage, an observer, skips nothing
// it can read).
func TestUnderTheLambdaRuntime(t *testing.T) {
	st := lambdatest.NewStores(t, schemas.TopicItems, schemas.TopicBidResults, schemas.TopicDeadLetter)
	lineageTable := dynamotest.NewTable(t, st.Dynamo, lineage.EnsureTable)
	historyTable := dynamotest.NewTable(t, st.Dynamo, bidhistory.EnsureTable)
	fn := lambdatest.Start(t, append(st.Env(), "AUCTION_LINEAGE_TABLE="+lineageTable, "AUCTION_BID_HISTORY_TABLE="+historyTable)...)

	run := time.Now().UnixNano()
	itemID := fmt.Sprintf("item-%d", run)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	eur := func(n int64) schemas.Money { return schemas.Money{Amount: n, Currency: "EUR"} }
	item := schemas.ItemPlaced{ItemID: itemID, Seller: schemas.Party{ID: "u-sam", Name: "Sam Seller"}, Title: "Brass telescope",
		Category: "optics", StartingPrice: eur(10000), MinIncrement: eur(100), EndsAt: t0.Add(time.Hour), PlacedAt: t0}
	meta := func(id, key string, at time.Time, cause string) schemas.Meta {
		return schemas.Meta{ID: id, Source: "/test", Subject: itemID, Key: key, Time: at, CausationID: cause}
	}
	accepted := schemas.BidAccepted{BidID: "bid-1", ItemID: itemID, BidderID: "u-bob", Amount: eur(15000),
		PlacedAt: t0.Add(time.Second), DecidedAt: t0.Add(time.Second), BidCount: 1}
	rejected := schemas.BidRejected{BidID: "bid-2", ItemID: itemID, BidderID: "u-dan", Amount: eur(15010),
		Reason: schemas.ReasonBelowIncrement, PlacedAt: t0.Add(2 * time.Second), DecidedAt: t0.Add(2 * time.Second)}
	items := kafkaevent.Event(trigger.Record{Topic: schemas.TopicItems, Partition: 1, Offset: 3,
		Message: lambdatest.Message(t, schemas.TypeItemPlaced, meta(itemID, itemID, t0, ""), item)})
	verdicts := kafkaevent.Event(
		trigger.Record{Topic: schemas.TopicBidResults, Partition: 1, Offset: 10,
			Message: lambdatest.Message(t, schemas.TypeBidAccepted, meta("bid-1.result", itemID, accepted.DecidedAt, "bid-1"), accepted)},
		trigger.Record{Topic: schemas.TopicBidResults, Partition: 1, Offset: 11,
			Message: lambdatest.Message(t, schemas.TypeBidRejected, meta("bid-2.result", itemID, rejected.DecidedAt, "bid-2"), rejected)},
		trigger.Record{Topic: schemas.TopicBidResults, Partition: 1, Offset: 12,
			Message: lambdatest.Message(t, schemas.TypeBidAccepted, meta("bid-9.result", "item-other", accepted.DecidedAt, "bid-9"), accepted)},
	)
	chains, history := lineage.NewDynamo(st.Dynamo, lineageTable), bidhistory.NewDynamo(st.Dynamo, historyTable)
	for _, what := range []string{"first", "second, the same events"} {
		t.Logf("%s invocation, auction.items: %s", what, fn.Invoke(t, items))
		t.Logf("%s invocation, auction.bid-results: %s", what, fn.Invoke(t, verdicts))
		chain, err := chains.Chain(t.Context(), itemID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range chain {
			ids = append(ids, e.ID)
		}
		// The record under another item's key names this item as its
		// subject: the lineage keeps it (in time order, then offset), the
		// bid history refuses it.
		if fmt.Sprint(ids) != fmt.Sprint([]string{itemID, "bid-1.result", "bid-9.result", "bid-2.result"}) {
			t.Errorf("after the %s invocation, the lineage is %v", what, ids)
		}
		bids, _, err := history.Page(t.Context(), itemID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(bids) != 2 || bids[0].BidID != "bid-2" || bids[1].BidID != "bid-1" {
			t.Errorf("after the %s invocation, the bid history is %+v, want bid-2 and bid-1, once each", what, bids)
		}
	}
	// One dead letter per invocation of the verdicts.
	letters := kafkatest.ReadKeys(t, st.Brokers, schemas.TopicDeadLetter, []string{"item-other"}, 2, 30*time.Second)
	if len(letters) != 2 {
		t.Errorf("%d dead letters, want 2", len(letters))
	}
	for _, l := range letters {
		if v, _ := l.Header(schemas.HeaderDLQOffset); string(v) != "12" {
			t.Errorf("a dead letter from offset %q, want 12", v)
		}
	}
	fn.LogFigures(t)
}

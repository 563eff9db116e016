package trigger_test

import (
	"context"
	"fmt"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// A function written for the platform is plain Go over typed events; Events
// binds it to a topic's records. Here the handler is called directly with
// two records, as the Kafka trigger would call it with a batch of one
// partition: a good event, and one that is no CloudEvent at all, which is
// reported as a permanent failure at its index, to be dead-lettered.
func ExampleEvents() {
	type bid struct {
		Amount int `json:"amount"`
	}
	fn := func(ctx context.Context, events []trigger.Event[bid]) error {
		for _, e := range events {
			fmt.Printf("bid %s on %s: %d\n", e.ID, e.Subject, e.Data.Amount)
		}
		return nil
	}
	h := trigger.Events("example.bid.v1", fn)

	e, _ := schemas.NewEvent("example.bid.v1", schemas.Meta{
		ID: "bid-1", Source: "/example", Subject: "item-7", Time: time.Now(),
	}, bid{Amount: 120})
	good, _ := cekafka.Encode(e)
	batch := []trigger.Record{
		{Topic: "auction.bids", Offset: 41, Message: good},
		{Topic: "auction.bids", Offset: 42, Message: cekafka.Message{Value: []byte("garbage")}},
	}
	err := h(context.Background(), batch)
	fmt.Println(err)
	// Output:
	// bid bid-1 on item-7: 120
	// record 1 of the batch: decode cloudevent: not a CloudEvent: no ce_specversion header and no structured content-type
}

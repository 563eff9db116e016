// Command placebid is the validate-bid edge function (functions/placebid)
// on AWS Lambda, behind the routes POST /v1/items/{itemId}/bids and POST
// /v1/bids (a batch) of an API Gateway HTTP API (payload format 2.0). It
// answers as the platform's gateway does, through the gateway's own routes
// (gateway.Edge), and looks items up in the item directory's table
// (cmd/lambda/itemdir keeps it), having no view of the processor's table
// of its own. Build it as the bootstrap of a provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/placebid
//
// Settings: those of setup.EdgeMain, and AUCTION_ITEMS_TABLE.
package main

import (
	"context"

	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/itemdir"
	"github.com/auctionflow/auction/functions/placebid"
)

func main() {
	setup.EdgeMain("placebid", func(ctx context.Context, e *setup.Edge) error {
		deps := placebid.Deps{Users: e.Deps.Profiles, Items: itemdir.NewDynamo(e.Dynamo, outofband.ItemsTable(e.Env)), Publisher: e.Producer}
		one, err := placebid.Init(deps)(ctx)
		if err != nil {
			return err
		}
		batch, err := placebid.InitBatch(deps)(ctx)
		if err != nil {
			return err
		}
		e.Deps.PlaceBid = faas.Of(one, faas.Options{Name: "placebid", Timeout: setup.Invocation})
		e.Deps.PlaceBids = faas.Of(batch, faas.Options{Name: "placebid-batch", Timeout: setup.Invocation})
		return nil
	})
}

// Command placeitem is the validate-item edge function (functions/placeitem)
// on AWS Lambda, behind the route POST /v1/items of an API Gateway HTTP API
// (payload format 2.0). It answers as the platform's gateway does, through
// the gateway's own routes (gateway.Edge): the bearer token, the strict
// body, the Idempotency-Key, 202 with the item's id once the item is on
// auction.items, and problem+json for everything refused. Build it as the
// bootstrap of a provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/placeitem
//
// Settings: those of setup.EdgeMain.
package main

import (
	"context"

	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placeitem"
)

func main() {
	setup.EdgeMain("placeitem", func(ctx context.Context, e *setup.Edge) error {
		fn, err := placeitem.Init(placeitem.Deps{Users: e.Deps.Profiles, Publisher: e.Producer})(ctx)
		if err != nil {
			return err
		}
		e.Deps.PlaceItem = faas.Of(fn, faas.Options{Name: "placeitem", Timeout: setup.Invocation})
		return nil
	})
}

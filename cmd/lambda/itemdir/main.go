// Command itemdir is the item directory (functions/itemdir) on AWS Lambda:
// event source mappings on auction.items and auction.item-complete invoke
// it with batches of placements and closes, and it keeps, per item, what
// the validate-bid function on Lambda (cmd/lambda/placebid) looks up: the
// seller, the currency, the latest end, whether it has closed. Build it as
// the bootstrap of a provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/itemdir
//
// It reads AUCTION_KAFKA_BROKERS (its dead letters), AUCTION_DYNAMODB_ENDPOINT
// and _REGION, and AUCTION_ITEMS_TABLE.
package main

import (
	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
)

func main() { setup.KafkaMain("itemdir", outofband.ItemDir) }

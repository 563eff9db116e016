// Command analytics is the analytics function (functions/analytics) on AWS
// Lambda: the Kafka event source mapping on auction.item-complete invokes
// it with batches of completions, and it counts each auction once in the
// aggregates, however often it is delivered, announcing each count on
// auction.analytics, as the analytics target does under the project's own
// Kafka trigger. Build it as the bootstrap of a provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/analytics
//
// Settings: AUCTION_KAFKA_BROKERS, AUCTION_DYNAMODB_ENDPOINT and _REGION,
// AUCTION_ANALYTICS_TABLE.
package main

import (
	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
)

func main() { setup.KafkaMain("analytics", outofband.Analytics) }

// Command analytics is the analytics function (functions/analytics) as a
// CloudEvents HTTP sink, for Knative Eventing, Cloud Run or any broker that
// delivers CloudEvents over HTTP: subscribe it to auction.item.completed.v1
// events, and it counts each auction once in the aggregates, however often
// it is delivered. Its counts go to $K_SINK, or to Kafka.
//
// Settings: PORT, K_SINK or AUCTION_KAFKA_BROKERS, AUCTION_DYNAMODB_ENDPOINT
// and _REGION, AUCTION_ANALYTICS_TABLE.
package main

import (
	"github.com/auctionflow/auction/cmd/cloudevents/internal/serve"
	"github.com/auctionflow/auction/cmd/internal/outofband"
)

func main() { serve.Main("analytics", outofband.Analytics) }

// Command notify is the notify-bidders function (functions/notify) on AWS
// Lambda: the Kafka event source mapping on auction.item-complete invokes
// it with batches of completions, and it notifies the winner, the losers
// and the seller once each, by email and in the inbox, announcing each on
// auction.notifications, exactly as the notify target does under the
// project's own Kafka trigger. A second mapping, on auction.bid-results,
// hands it the verdicts, and it tells each overtaken bidder they were
// outbid, at most once per item in each AUCTION_OUTBID_WINDOW. Build it as
// the bootstrap of a provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/notify
//
// It reads the settings of `auction run` that it needs (AUCTION_KAFKA_BROKERS,
// AUCTION_DYNAMODB_ENDPOINT and _REGION, AUCTION_USERS_TABLE,
// AUCTION_NOTIFICATIONS_TABLE, AUCTION_SMTP_*, AUCTION_OUTBID_WINDOW), and sets everything up once
// per execution environment, in the init phase: the cold start.
package main

import (
	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
)

func main() { setup.KafkaMain("notify", outofband.Notify) }

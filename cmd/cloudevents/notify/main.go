// Command notify is the notify-bidders function (functions/notify) as a
// CloudEvents HTTP sink, for Knative Eventing, Cloud Run or any broker that
// delivers CloudEvents over HTTP: subscribe it (a Knative Trigger, a
// KafkaSource's sink) to auction.item.completed.v1 and
// auction.bid.accepted.v1 events, and it notifies the winner, the losers
// and the seller of each close and each overtaken bidder, by email and in
// the inbox, exactly as the notify target does under the project's own
// Kafka trigger. Its announcements go to $K_SINK, or to Kafka.
//
// Settings: PORT, K_SINK or AUCTION_KAFKA_BROKERS, AUCTION_DYNAMODB_ENDPOINT
// and _REGION, AUCTION_USERS_TABLE, AUCTION_NOTIFICATIONS_TABLE,
// AUCTION_SMTP_*, AUCTION_OUTBID_WINDOW.
package main

import (
	"github.com/auctionflow/auction/cmd/cloudevents/internal/serve"
	"github.com/auctionflow/auction/cmd/internal/outofband"
)

func main() { serve.Main("notify", outofband.Notify) }

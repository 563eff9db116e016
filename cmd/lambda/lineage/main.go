// Command lineage is the lineage target of `auction run` on AWS Lambda: the
// lineage function (functions/lineage), which indexes every event of the
// flow by its auction, and the bid history (functions/bidhistory), which
// keeps every verdict. Event source mappings on each topic of
// lineage.Topics invoke it, a topic each (a mapping takes one); the
// verdicts of auction.bid-results go to both. Build it as the bootstrap of
// a provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/lineage
//
// It reads AUCTION_KAFKA_BROKERS (its dead letters), AUCTION_DYNAMODB_ENDPOINT
// and _REGION, AUCTION_LINEAGE_TABLE and AUCTION_BID_HISTORY_TABLE.
package main

import (
	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
)

func main() { setup.KafkaMain("lineage", outofband.Lineage) }

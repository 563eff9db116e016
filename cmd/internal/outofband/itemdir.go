package outofband

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/functions/itemdir"
	"github.com/auctionflow/auction/functions/trigger"
)

// ItemDir is the item directory on its table in DynamoDB
// (AUCTION_ITEMS_TABLE), fed by the records of auction.items and
// auction.item-complete. It writes nothing to Kafka but dead letters.
func ItemDir(env Env, client *dynamodb.Client, _ trigger.Writer, _ *slog.Logger) (trigger.Handler, error) {
	return itemdir.Handler(itemdir.NewDynamo(client, ItemsTable(env))), nil
}

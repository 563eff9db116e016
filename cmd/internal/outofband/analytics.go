package outofband

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

// Analytics is the analytics function on its table in DynamoDB
// (AUCTION_ANALYTICS_TABLE), writing its counts through out: it counts
// each completion (auction.item-complete) once.
func Analytics(env Env, client *dynamodb.Client, out trigger.Writer, log *slog.Logger) (trigger.Handler, error) {
	a := analytics.New(analytics.Deps{Store: analytics.NewDynamo(client, Or(env, "AUCTION_ANALYTICS_TABLE", "auction-analytics")), Log: log})
	return trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, out, a.OnCompleted), nil
}

package outofband

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

// Lineage is the lineage target of `auction run` as one function: the
// lineage of every event (AUCTION_LINEAGE_TABLE), fed by the records of
// every topic of lineage.Topics, and the bid history
// (AUCTION_BID_HISTORY_TABLE), fed by those of auction.bid-results. A
// batch of verdicts goes to both, the lineage first; both are idempotent,
// so a batch tried again after the bid history failed repeats the lineage
// harmlessly. It writes nothing to Kafka but dead letters (a verdict that
// is no valid verdict: the lineage only observes, and skips what it
// cannot read).
func Lineage(env Env, client *dynamodb.Client, _ trigger.Writer, log *slog.Logger) (trigger.Handler, error) {
	chain := lineage.Handler(lineage.NewDynamo(client, Or(env, "AUCTION_LINEAGE_TABLE", "auction-lineage")), log)
	history := bidhistory.Handler(bidhistory.NewDynamo(client, Or(env, "AUCTION_BID_HISTORY_TABLE", "auction-bid-history")))
	return func(ctx context.Context, batch []trigger.Record) error {
		if err := chain(ctx, batch); err != nil {
			return err
		}
		if len(batch) > 0 && batch[0].Topic == schemas.TopicBidResults {
			return history(ctx, batch)
		}
		return nil
	}, nil
}

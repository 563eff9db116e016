package outofband

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// Notify is notify-bidders on its stores in DynamoDB
// (AUCTION_NOTIFICATIONS_TABLE, AUCTION_USERS_TABLE) and SMTP
// (AUCTION_SMTP_*), writing its announcements through out. It takes the
// records of two topics: completions (auction.item-complete), whose people
// it notifies, and verdicts (auction.bid-results), whose overtaken bidders
// it tells they were outbid, at most once per item in each
// AUCTION_OUTBID_WINDOW. A batch is one topic's records, as every binding
// delivers them, and goes to the function of its topic.
func Notify(env Env, client *dynamodb.Client, out trigger.Writer, log *slog.Logger) (trigger.Handler, error) {
	window, err := Duration(env, "AUCTION_OUTBID_WINDOW", notify.DefaultOutbidWindow)
	if err != nil {
		return nil, err
	}
	n := notify.New(notify.Deps{
		Outbox: notify.NewDynamo(client, Or(env, "AUCTION_NOTIFICATIONS_TABLE", "auction-notifications")),
		Users:  userdir.NewDynamo(client, Or(env, "AUCTION_USERS_TABLE", "auction-users")),
		Mailer: notify.MailerFor(notify.SMTPMailer{Addr: env("AUCTION_SMTP_ADDR"), From: Or(env, "AUCTION_SMTP_FROM", "auctions@auction.local"),
			Username: env("AUCTION_SMTP_USER"), Password: env("AUCTION_SMTP_PASSWORD")}, log),
		Log:          log,
		OutbidWindow: window,
	})
	completions := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, out, n.OnCompleted)
	verdicts := trigger.Function(schemas.TopicBidResults, schemas.TypeBidAccepted, out, n.OnAccepted)
	return func(ctx context.Context, batch []trigger.Record) error {
		if len(batch) > 0 && batch[0].Topic == schemas.TopicBidResults {
			return verdicts(ctx, batch)
		}
		return completions(ctx, batch)
	}, nil
}

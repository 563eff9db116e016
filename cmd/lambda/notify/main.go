// Command notify is the notify-bidders function (functions/notify) on AWS
// Lambda: the Kafka event source mapping on auction.item-complete invokes
// it with batches of completions, and it notifies the winner, the losers
// and the seller once each, by email and in the inbox, announcing each on
// auction.notifications, exactly as the notify target does under the
// project's own Kafka trigger. Build it as the bootstrap of a
// provided.al2023 function:
//
//	CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/notify
//
// It reads the settings of `auction run` that it needs (AUCTION_KAFKA_BROKERS,
// AUCTION_DYNAMODB_ENDPOINT and _REGION, AUCTION_USERS_TABLE,
// AUCTION_NOTIFICATIONS_TABLE, AUCTION_SMTP_*), and sets everything up once
// per execution environment, in the init phase: the cold start.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/cmd/lambda/internal/setup"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

func main() { setup.Main("notify", newHandler) }

// newHandler sets the function up from the settings in env.
func newHandler(ctx context.Context, env setup.Env, log *slog.Logger) (func(context.Context, events.KafkaEvent) error, error) {
	producer, client, err := setup.Clients(ctx, env, "auction-notify-lambda", log)
	if err != nil {
		return nil, err
	}
	n := notify.New(notify.Deps{
		Outbox: notify.NewDynamo(client, setup.Or(env, "AUCTION_NOTIFICATIONS_TABLE", "auction-notifications")),
		Users:  userdir.NewDynamo(client, setup.Or(env, "AUCTION_USERS_TABLE", "auction-users")),
		Mailer: notify.MailerFor(notify.SMTPMailer{Addr: env("AUCTION_SMTP_ADDR"), From: setup.Or(env, "AUCTION_SMTP_FROM", "auctions@auction.local"),
			Username: env("AUCTION_SMTP_USER"), Password: env("AUCTION_SMTP_PASSWORD")}, log),
		Log: log,
	})
	fn := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, producer, n.OnCompleted)
	return kafkaevent.Handler(fn, trigger.DeadLetterPolicy{Writer: producer, Consumer: "notify", Log: log}, log), nil
}

// Command notify is the notify-bidders function (functions/notify) on AWS
// Lambda: the Kafka event source mapping on auction.item-complete invokes
// it with batches of completions, and it notifies the winner, the losers
// and the seller once each, by email and in the inbox, announcing each on
// auction.notifications, exactly as the notify target does under the
// project's own Kafka trigger. Build it as the bootstrap of a
// provided.al2023 function:
//
//	GOOS=linux CGO_ENABLED=1 go build -tags lambda.norpc -o bootstrap ./cmd/lambda/notify
//
// It reads the settings of `auction run` that it needs (AUCTION_KAFKA_BROKERS,
// AUCTION_DYNAMODB_ENDPOINT and _REGION, AUCTION_USERS_TABLE,
// AUCTION_NOTIFICATIONS_TABLE, AUCTION_SMTP_*), and sets everything up once
// per execution environment, in the init phase: the cold start.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "notify")
	started := time.Now()
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
	log.Info("initialised", "took", time.Since(started))
	lambda.Start(h)
}

// newHandler sets the function up from the settings in getenv.
func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (any, error) {
	brokers := getenv("AUCTION_KAFKA_BROKERS")
	if brokers == "" {
		return nil, errors.New("AUCTION_KAFKA_BROKERS is not set")
	}
	producer, err := kafkaio.NewProducer(kafkaio.Config{Brokers: strings.Split(brokers, ","), ClientID: "auction-notify-lambda",
		DeliveryTimeout: 10 * time.Second}, log)
	if err != nil {
		return nil, err
	}
	client, err := dynamotable.NewClient(ctx, getenv("AUCTION_DYNAMODB_ENDPOINT"), getenv("AUCTION_DYNAMODB_REGION"))
	if err != nil {
		return nil, err
	}
	var mailer notify.Mailer = logMailer{log}
	if addr := getenv("AUCTION_SMTP_ADDR"); addr != "" {
		mailer = &notify.SMTPMailer{Addr: addr, From: or(getenv("AUCTION_SMTP_FROM"), "auctions@auction.local"),
			Username: getenv("AUCTION_SMTP_USER"), Password: getenv("AUCTION_SMTP_PASSWORD")}
	}
	n := notify.New(notify.Deps{
		Outbox: notify.NewDynamo(client, or(getenv("AUCTION_NOTIFICATIONS_TABLE"), "auction-notifications")),
		Users:  userdir.NewDynamo(client, or(getenv("AUCTION_USERS_TABLE"), "auction-users")),
		Mailer: mailer, Log: log,
	})
	// The JSON Schemas are compiled here, in the init phase, not on the
	// first invocation.
	if _, err := schemas.SharedValidator(); err != nil {
		return nil, err
	}
	fn := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, producer, n.OnCompleted)
	return kafkaevent.Handler(fn, trigger.DeadLetterPolicy{Writer: producer, Consumer: "notify", Log: log}, log), nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(ctx context.Context, to, subject, _, messageID string) error {
	m.log.InfoContext(ctx, "email not sent (no AUCTION_SMTP_ADDR)", "to", to, "subject", subject, "message_id", messageID)
	return nil
}

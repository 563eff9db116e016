// Package setup is what every function of cmd/lambda sets up in its init
// phase, from the settings of `auction run` it shares: the Kafka producer
// (outputs and dead letters), the DynamoDB client (cmd/internal/outofband
// builds the functions on it), and the JSON Schemas compiled before the
// first invocation.
package setup

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// Env reads settings; os.Getenv in a function, a map in a test.
type Env = outofband.Env

// Log is the function's logger: JSON to stderr, which Lambda sends to
// CloudWatch Logs.
func Log(function string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function)
}

// Producer connects to the cluster of AUCTION_KAFKA_BROKERS as clientID,
// secured as the AUCTION_KAFKA_* settings say (outofband.Kafka).
func Producer(env Env, clientID string, log *slog.Logger) (*kafkaio.Producer, error) {
	cfg, err := outofband.Kafka(env, clientID)
	if err != nil {
		return nil, err
	}
	return kafkaio.NewProducer(cfg, log)
}

// Schemas compiles the JSON Schemas now, in the init phase, rather than on
// the first invocation.
func Schemas() error {
	_, err := schemas.SharedValidator()
	return err
}

// Main is a function's main: it builds the handler from the process's
// environment in the init phase, logs how long that took (the function's
// share of a cold start), and hands it to the Lambda runtime. A failed init
// exits, which Lambda reports as an init error.
//
// H is a handler lambda.Start takes: func(context.Context, E) error for
// an event source, func(context.Context, Req) (Resp, error) for a request.
func Main[H any](function string, build func(context.Context, Env, *slog.Logger) (H, error)) {
	log := Log(function)
	started := time.Now()
	h, err := build(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
	log.Info("initialised", "took", time.Since(started))
	lambda.Start(h)
}

// Clients is what the out-of-band functions all need: the producer of
// their outputs and dead letters (as clientID), the DynamoDB client of
// their stores, and the JSON Schemas compiled.
func Clients(ctx context.Context, env Env, clientID string, log *slog.Logger) (*kafkaio.Producer, *dynamodb.Client, error) {
	producer, err := Producer(env, clientID, log)
	if err != nil {
		return nil, nil, err
	}
	client, err := outofband.Dynamo(ctx, env)
	if err == nil {
		err = Schemas()
	}
	if err != nil {
		producer.Close()
		return nil, nil, err
	}
	return producer, client, nil
}

// KafkaMain is the main of an out-of-band function on the Kafka event
// source mapping: in the init phase it sets up the clients (Clients, as
// "auction-<function>-lambda") and the function build makes on them; each
// invocation's records go through kafkaevent.Handler, a poison record to
// the dead-letter topic as function. AUCTION_LAMBDA_PARTIAL_BATCH=true says
// the mapping takes a partial batch response (FunctionResponseTypes
// ReportBatchItemFailures): a failing partition is then named in the
// answer, and only its records from the failed one are sent again. Without
// it, a failure fails the invocation: a mapping that does not read the
// answer would take a partial response for a success, and lose records.
func KafkaMain(function string, build outofband.Build) {
	Main(function, func(ctx context.Context, env Env, log *slog.Logger) (func(context.Context, events.KafkaEvent) (kafkaevent.Response, error), error) {
		partial, err := outofband.Bool(env, "AUCTION_LAMBDA_PARTIAL_BATCH")
		if err != nil {
			return nil, err
		}
		producer, client, err := Clients(ctx, env, "auction-"+function+"-lambda", log)
		if err != nil {
			return nil, err
		}
		fn, err := build(env, client, producer, log)
		if err != nil {
			producer.Close()
			return nil, err
		}
		return kafkaevent.Handler(fn, trigger.DeadLetterPolicy{Writer: producer, Consumer: function, Log: log}, partial, log), nil
	})
}

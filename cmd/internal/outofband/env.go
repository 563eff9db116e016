// Package outofband builds the out-of-band functions as their deployable
// mains run them, whatever the runtime: the AWS Lambda mains of cmd/lambda
// and the CloudEvents HTTP mains of cmd/cloudevents each call it with the
// writer of outputs their runtime has, and bind what it returns to their
// event type. The function is the same; only the binding differs.
//
// Each builder reads the settings of `auction run` that its function needs
// (infra/aws_test.go holds the Lambda template to them).
package outofband

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/kafkaio"
)

// Env reads settings; os.Getenv in a function, a map in a test.
type Env func(string) string

// Build builds a function from the settings in env, on client (its
// stores), writing its outputs through out: Notify and Analytics are
// Builds, and every runtime's main takes one.
type Build func(env Env, client *dynamodb.Client, out trigger.Writer, log *slog.Logger) (trigger.Handler, error)

// Or is the setting name, or def when it is not set.
func Or(env Env, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

// Duration is the duration the variable name holds (as Go writes one:
// "5m", "90s"), or def when it is unset or empty.
func Duration(env Env, name string, def time.Duration) (time.Duration, error) {
	v := env(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a duration (e.g. 5m)", name, v)
	}
	return d, nil
}

// Bool is the setting name as a boolean ("true" or "false", as
// strconv.ParseBool reads them); unset or empty is false.
func Bool(env Env, name string) (bool, error) {
	v := env(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// ItemsTable is the item directory's table (functions/itemdir), which its
// function keeps and the validate-bid function on Lambda reads:
// AUCTION_ITEMS_TABLE, or auction-items. Only the Lambda edge has one;
// `auction run` looks items up in the processor's view.
func ItemsTable(env Env) string { return Or(env, "AUCTION_ITEMS_TABLE", "auction-items") }

// Dynamo is the DynamoDB client of AUCTION_DYNAMODB_ENDPOINT and
// AUCTION_DYNAMODB_REGION (neither: AWS itself, with the credentials of the
// function's role).
func Dynamo(ctx context.Context, env Env) (*dynamodb.Client, error) {
	return dynamotable.NewClient(ctx, env("AUCTION_DYNAMODB_ENDPOINT"), env("AUCTION_DYNAMODB_REGION"))
}

// Kafka is the cluster of AUCTION_KAFKA_BROKERS as clientID, secured as the
// AUCTION_KAFKA_SECURITY_PROTOCOL, _SASL_MECHANISM, _SASL_USERNAME,
// _SASL_PASSWORD and _CA_FILE settings say (as for `auction run`): an MSK
// listener with SASL/SCRAM over TLS, say.
func Kafka(env Env, clientID string) (kafkaio.Config, error) {
	var brokers []string
	for _, b := range strings.Split(env("AUCTION_KAFKA_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		return kafkaio.Config{}, errors.New("AUCTION_KAFKA_BROKERS is not set")
	}
	sec := kafkaio.Security{Protocol: env("AUCTION_KAFKA_SECURITY_PROTOCOL"), Mechanism: env("AUCTION_KAFKA_SASL_MECHANISM"),
		Username: env("AUCTION_KAFKA_SASL_USERNAME"), Password: env("AUCTION_KAFKA_SASL_PASSWORD")}
	if f := env("AUCTION_KAFKA_CA_FILE"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return kafkaio.Config{}, fmt.Errorf("AUCTION_KAFKA_CA_FILE: %w", err)
		}
		sec.CAPEM = pem
	}
	if err := sec.Validate(); err != nil {
		return kafkaio.Config{}, err
	}
	return kafkaio.Config{Brokers: brokers, ClientID: clientID, DeliveryTimeout: 10 * time.Second, Security: sec}, nil
}

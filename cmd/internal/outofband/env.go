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
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// Env reads settings; os.Getenv in a function, a map in a test.
type Env func(string) string

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

// Dynamo is the DynamoDB client of AUCTION_DYNAMODB_ENDPOINT and
// AUCTION_DYNAMODB_REGION (neither: AWS itself, with the credentials of the
// function's role).
func Dynamo(ctx context.Context, env Env) (*dynamodb.Client, error) {
	return dynamotable.NewClient(ctx, env("AUCTION_DYNAMODB_ENDPOINT"), env("AUCTION_DYNAMODB_REGION"))
}

package setup

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/cmd/lambda/internal/apigw"
	"github.com/auctionflow/auction/internal/idempotency"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
)

// Edge is what an edge function is built on: the clients of Clients, and
// the gateway's collaborators every write route has (the token verifier,
// the user directory and its cache, the shared record of
// Idempotency-Keys, the per-user limit).
type Edge struct {
	Env      Env
	Dynamo   *dynamodb.Client
	Producer *kafkaio.Producer
	Deps     gateway.Deps
}

// Invocation bounds an edge function's invocation as `auction run`
// bounds it: a write to Kafka may take the producer's delivery timeout,
// and a little more for the lookups.
const Invocation = 11 * time.Second

// EdgeMain is the main of an edge function behind an HTTP API of Amazon
// API Gateway (payload format 2.0). In the init phase it sets up the
// clients (as "auction-<function>-lambda") and the gateway's
// collaborators (Edge), lets wire add the function's invokers, and serves
// the gateway's Edge routes through apigw: the same sign-in, validation,
// Idempotency-Keys and problem answers as the platform's own gateway.
//
// Settings: those of Clients, AUCTION_JWT_KEY (required: the key the
// platform's gateways sign tokens with), AUCTION_JWT_ISSUER and
// _AUDIENCE, AUCTION_USERS_TABLE, AUCTION_IDEMPOTENCY_TABLE,
// AUCTION_USER_CACHE_TTL, AUCTION_RATE_LIMIT and AUCTION_RATE_BURST (per
// user and per execution environment; API Gateway's throttling bounds the
// route as a whole).
func EdgeMain(function string, wire func(ctx context.Context, e *Edge) error) {
	Main(function, func(ctx context.Context, env Env, log *slog.Logger) (func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), error) {
		e, err := newEdge(ctx, env, "auction-"+function+"-lambda", log)
		if err != nil {
			return nil, err
		}
		if err := wire(ctx, e); err != nil {
			e.Producer.Close()
			return nil, err
		}
		return apigw.Handler(gateway.New(e.Deps).Edge()), nil
	})
}

func newEdge(ctx context.Context, env Env, clientID string, log *slog.Logger) (*Edge, error) {
	key := env("AUCTION_JWT_KEY")
	if key == "" {
		return nil, fmt.Errorf("AUCTION_JWT_KEY is not set: the function checks the tokens the platform's gateways sign with it")
	}
	tokens, err := auth.NewTokens(auth.Config{Key: []byte(key), Issuer: outofband.Or(env, "AUCTION_JWT_ISSUER", "auction"),
		Audience: outofband.Or(env, "AUCTION_JWT_AUDIENCE", "auction-api")}, nil)
	if err != nil {
		return nil, err
	}
	cacheTTL, err := outofband.Duration(env, "AUCTION_USER_CACHE_TTL", 30*time.Second)
	if err != nil {
		return nil, err
	}
	limit, err := rateLimit(env)
	if err != nil {
		return nil, err
	}
	producer, client, err := Clients(ctx, env, clientID, log)
	if err != nil {
		return nil, err
	}
	users := userdir.NewDynamo(client, outofband.Or(env, "AUCTION_USERS_TABLE", "auction-users"))
	return &Edge{Env: env, Dynamo: client, Producer: producer, Deps: gateway.Deps{
		Tokens: tokens, Users: users, Profiles: userdir.NewCached(users, cacheTTL, nil),
		Idempotency: idempotency.NewDynamo(client, outofband.Or(env, "AUCTION_IDEMPOTENCY_TABLE", "auction-idempotency"), idempotency.DefaultLimits, nil),
		RateLimit:   limit, Log: log,
	}}, nil
}

// rateLimit is the per-user limit of AUCTION_RATE_LIMIT (requests a
// second; 0 none) and AUCTION_RATE_BURST, gateway.DefaultRateLimit's when
// unset.
func rateLimit(env Env) (gateway.RateLimit, error) {
	l := gateway.DefaultRateLimit
	if v := env("AUCTION_RATE_LIMIT"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 {
			return l, fmt.Errorf("AUCTION_RATE_LIMIT=%q: not a rate (requests a second, 0 for none)", v)
		}
		l.Rate = r
	}
	if v := env("AUCTION_RATE_BURST"); v != "" {
		b, err := strconv.Atoi(v)
		if err != nil || b < 1 {
			return l, fmt.Errorf("AUCTION_RATE_BURST=%q: not a count of requests", v)
		}
		l.Burst = b
	}
	return l, nil
}

package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
)

// invoker runs a function in the request's goroutine, as faas does once
// the function is warm, without its concurrency limit.
type invoker[In, Out any] faas.Func[In, Out]

func (f invoker[In, Out]) Invoke(ctx context.Context, in In) (Out, error) { return f(ctx, in) }

// encodingPublisher stands in for Kafka: it encodes every event as the
// producer would (binary content mode) and acknowledges at once.
type encodingPublisher struct{}

func (encodingPublisher) PublishEvents(_ context.Context, _ string, events ...event.Event) error {
	for _, e := range events {
		if _, err := cekafka.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// benchGateway is the gateway with the real validate-bid function (checks,
// enrichment, event building, schema validation) on in-memory users and
// items, and Kafka replaced by encodingPublisher: the whole bid path but
// the broker's round trip.
func benchGateway(b *testing.B) (http.Handler, string) {
	b.Helper()
	ctx := context.Background()
	dir := userdir.NewMemory()
	bidder := userdir.User{ID: "u-bidder", Name: "Bob Baker", Email: "bob@example.com",
		Address: userdir.Address{City: "Paris", Country: "FR"}}
	if err := dir.Create(ctx, bidder); err != nil {
		b.Fatal(err)
	}
	deps := placebid.Deps{
		Users: userdir.NewCached(dir, time.Minute, nil),
		Items: placebid.ItemsFunc(func(context.Context, string) (placebid.Item, bool, error) {
			return placebid.Item{SellerID: "u-seller", Currency: "EUR", EndsAt: time.Now().Add(time.Hour)}, true, nil
		}),
		Publisher: encodingPublisher{},
	}
	one, err := placebid.Init(deps)(ctx)
	if err != nil {
		b.Fatal(err)
	}
	many, err := placebid.InitBatch(deps)(ctx)
	if err != nil {
		b.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.Config{Key: auth.GenerateKey(), Issuer: issuer, Audience: audience, TTL: tokenTTL}, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := tokens.Issue(bidder.ID, 0)
	if err != nil {
		b.Fatal(err)
	}
	h := gateway.New(gateway.Deps{
		Tokens: tokens, Users: dir, PlaceBid: invoker[placebid.Request, placebid.Result](one),
		PlaceBids: invoker[[]placebid.Request, []placebid.Result](many),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}).Routes()
	return h, tok
}

// BenchmarkPlaceBid is POST /v1/items/{id}/bids through the router:
// request id, metrics, auth, rate limit, decode, the validate-bid function
// and the 202 answer.
func BenchmarkPlaceBid(b *testing.B) {
	h, tok := benchGateway(b)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/items/item-1/bids", strings.NewReader(`{"amount":5500}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("got %d %s, want 202", w.Code, w.Body)
		}
	}
}

// BenchmarkPlaceBids is POST /v1/bids with 1,000 bids; bids/s is reported
// beside the time per request.
func BenchmarkPlaceBids(b *testing.B) {
	h, tok := benchGateway(b)
	const n = 1000
	var sb strings.Builder
	sb.WriteString(`{"bids":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"itemId":"item-%d","amount":%d}`, i%16, 5500+i)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/bids", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("got %d %s, want 202", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "bids/s")
}

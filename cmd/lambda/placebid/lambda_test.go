package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/cmd/lambda/internal/lambdatest"
	"github.com/auctionflow/auction/functions/itemdir"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/idempotency"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/internal/userdir/userdirtest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
	"github.com/auctionflow/auction/streams/auction"
)

// TestUnderTheLambdaRuntime runs the edge of the platform as AWS Lambda
// runs it: placeitem, the item directory and placebid, each built as a
// provided.al2023 bootstrap under the Runtime Interface Emulator, invoked
// with the events API Gateway (HTTP API, payload format 2.0) and the
// event source mappings send, against a Kafka broker and dynalite, with
// the auction processor deciding. An item placed through Lambda lands on
// auction.items; delivered to the item directory (twice), it lets a bid
// through placebid, which lands on auction.bids and is decided by the
// processor; a retry with the same Idempotency-Key is answered again and
// written once; a batch is answered per bid; what the platform's gateway
// refuses (no token, a malformed body, a bid on one's own item or an item
// nobody placed) is refused with the same problem.
func TestUnderTheLambdaRuntime(t *testing.T) {
	st := lambdatest.NewStores(t, schemas.TopicItems, schemas.TopicBids, schemas.TopicRejected, schemas.TopicItemComplete,
		schemas.TopicBidResults, schemas.TopicBidStatus, schemas.TopicDeadLetter)
	usersTable := dynamotest.NewTable(t, st.Dynamo, userdir.EnsureTable)
	idemTable := dynamotest.NewTable(t, st.Dynamo, func(ctx context.Context, _ dynamotable.TableAPI, table string) error {
		return idempotency.EnsureTable(ctx, st.Dynamo, table) // it also turns the time to live on
	})
	itemsTable := dynamotest.NewTable(t, st.Dynamo, itemdir.EnsureTable)
	run := time.Now().UnixNano()
	sam, bob := fmt.Sprintf("u-sam-%d", run), fmt.Sprintf("u-bob-%d", run)
	userdirtest.Seed(t, userdir.NewDynamo(st.Dynamo, usersTable),
		userdir.User{ID: sam, Name: "Sam Seller", Email: fmt.Sprintf("sam-%d@example.com", run)},
		userdir.User{ID: bob, Name: "Bob Baker", Email: fmt.Sprintf("bob-%d@example.com", run)})
	// A key an environment variable can hold (a random one may hold a NUL).
	key := []byte(hex.EncodeToString(auth.GenerateKey()))
	tokens, err := auth.NewTokens(auth.Config{Key: key, Issuer: "auction", Audience: "auction-api"}, nil) // `auction run`'s defaults
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(user string) string {
		tok, err := tokens.Issue(user, 0)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	env := append(st.Env(), "AUCTION_JWT_KEY="+string(key), "AUCTION_USERS_TABLE="+usersTable,
		"AUCTION_IDEMPOTENCY_TABLE="+idemTable, "AUCTION_ITEMS_TABLE="+itemsTable)
	placeItem := lambdatest.StartPackage(t, "../placeitem", env...)
	directory := lambdatest.StartPackage(t, "../itemdir", env...)
	placeBid := lambdatest.Start(t, env...)
	startProcessor(t, st.Brokers)

	call := func(fn *lambdatest.Emulator, method, target, body string, headers map[string]string) (events.APIGatewayV2HTTPResponse, time.Duration) {
		t.Helper()
		var resp events.APIGatewayV2HTTPResponse
		took := fn.Call(t, lambdatest.Request(method, target, body, headers), &resp)
		return resp, took
	}
	refused := func(what string, resp events.APIGatewayV2HTTPResponse, status int, code string) {
		t.Helper()
		var p gateway.Problem
		if resp.StatusCode != status || resp.Headers["Content-Type"] != "application/problem+json" || json.Unmarshal([]byte(resp.Body), &p) != nil {
			t.Errorf("%s: %d %s %s, want a %d problem", what, resp.StatusCode, resp.Headers["Content-Type"], resp.Body, status)
			return
		}
		if code != "" && (len(p.Errors) != 1 || p.Errors[0].Code != code) {
			t.Errorf("%s: problem %s, want one error %s", what, resp.Body, code)
		}
	}

	// The item, through placeitem. Its auction is short: on a shared broker
	// the closer's tests read auction.items from the start, and wait for
	// every auction there to close.
	item := `{"title":"Brass telescope","category":"optics","currency":"EUR","startingPrice":10000,"durationSeconds":20}`
	resp, cold := call(placeItem, http.MethodPost, "/v1/items", item, map[string]string{"Authorization": bearer(sam)})
	t.Logf("placeitem, first invocation (cold start): %s", cold)
	var placed struct {
		ItemID string `json:"itemId"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(resp.Body), &placed) != nil || resp.Headers["Location"] != "/v1/items/"+placed.ItemID {
		t.Fatalf("place item: %d %v %s, want 202 with the item's id and Location", resp.StatusCode, resp.Headers, resp.Body)
	}
	_, warm := call(placeItem, http.MethodPost, "/v1/items", item, map[string]string{"Authorization": bearer(sam)})
	t.Logf("placeitem, second invocation (warm): %s", warm)
	resp, _ = call(placeItem, http.MethodPost, "/v1/items", item, nil)
	refused("an item without a token", resp, http.StatusUnauthorized, "")
	resp, _ = call(placeItem, http.MethodPost, "/v1/items", `{"title":`, map[string]string{"Authorization": bearer(sam)})
	refused("a malformed item", resp, http.StatusBadRequest, "")

	// The item directory, given the item's record as the mapping delivers it, twice.
	recs := kafkatest.ReadKeys(t, st.Brokers, schemas.TopicItems, []string{placed.ItemID}, 1, 30*time.Second)
	ev := kafkaevent.Event(trigger.Record{Topic: recs[0].Topic, Partition: recs[0].Partition, Offset: recs[0].Offset, Message: recs[0].Message})
	t.Logf("itemdir, first invocation (cold start): %s", directory.Invoke(t, ev))
	t.Logf("itemdir, second invocation (warm): %s", directory.Invoke(t, ev))

	// Bids, through placebid.
	bidPath := "/v1/items/" + placed.ItemID + "/bids"
	retry := map[string]string{"Authorization": bearer(bob), "Idempotency-Key": fmt.Sprintf("k-%d", run)}
	first, cold := call(placeBid, http.MethodPost, bidPath, `{"amount":15000}`, retry)
	t.Logf("placebid, first invocation (cold start): %s", cold)
	again, warm := call(placeBid, http.MethodPost, bidPath, `{"amount":15000}`, retry)
	t.Logf("placebid, second invocation (warm; the retry, answered from its Idempotency-Key): %s", warm)
	var bid struct {
		BidID  string `json:"bidId"`
		Status string `json:"status"`
	}
	if first.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(first.Body), &bid) != nil || bid.Status != "pending" {
		t.Fatalf("bid: %d %s, want 202 pending", first.StatusCode, first.Body)
	}
	if again.StatusCode != first.StatusCode || again.Body != first.Body {
		t.Errorf("the retry: %d %s, want the first answer again (%d %s)", again.StatusCode, again.Body, first.StatusCode, first.Body)
	}
	resp, took := call(placeBid, http.MethodPost, "/v1/bids",
		fmt.Sprintf(`{"bids":[{"itemId":%q,"amount":16000},{"itemId":"item-nobody-placed-%d","amount":16000}]}`, placed.ItemID, run),
		map[string]string{"Authorization": bearer(bob)})
	var batch struct {
		Results []struct {
			BidID  string `json:"bidId"`
			Status string `json:"status"`
		} `json:"results"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(resp.Body), &batch) != nil || len(batch.Results) != 2 ||
		batch.Results[0].Status != "pending" || batch.Results[1].Status != "rejected" {
		t.Fatalf("batch: %d %s, want 202, the first pending and the second rejected", resp.StatusCode, resp.Body)
	}
	t.Logf("placebid, a batch of two (warm): %s", took)
	resp, _ = call(placeBid, http.MethodPost, bidPath, `{"amount":20000}`, map[string]string{"Authorization": bearer(sam)})
	refused("a bid on one's own item", resp, http.StatusConflict, string(schemas.ReasonOwnItem))
	resp, _ = call(placeBid, http.MethodPost, fmt.Sprintf("/v1/items/item-nobody-placed-%d/bids", run), `{"amount":20000}`,
		map[string]string{"Authorization": bearer(bob)})
	refused("a bid on an item nobody placed", resp, http.StatusConflict, string(schemas.ReasonUnknownItem))
	resp, _ = call(placeBid, http.MethodPost, bidPath, `{"amount":0}`, map[string]string{"Authorization": bearer(bob)})
	refused("a bid of nothing", resp, http.StatusUnprocessableEntity, "minimum")

	// The bids on auction.bids, the retried one once, and the processor's verdicts.
	// ReadKeys waits for two, then reads on to the end: a third (the retry
	// written again) would be counted.
	if n := len(kafkatest.ReadKeys(t, st.Brokers, schemas.TopicBids, []string{placed.ItemID}, 2, 30*time.Second)); n != 2 {
		t.Errorf("auction.bids holds %d bids on the item, want 2 (the retry written once)", n)
	}
	verdicts := kafkatest.ReadKeys(t, st.Brokers, schemas.TopicBidResults, []string{placed.ItemID}, 2, 60*time.Second)
	accepted := map[string]bool{}
	for _, r := range verdicts {
		got, err := schemas.Read(schemas.TopicBidResults, r.Message)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got.Data.(*schemas.BidAccepted); ok {
			accepted[v.BidID] = true
		}
	}
	if !accepted[bid.BidID] || !accepted[batch.Results[0].BidID] {
		t.Errorf("the processor accepted %v, want %s and %s", accepted, bid.BidID, batch.Results[0].BidID)
	}
	for _, fn := range []*lambdatest.Emulator{placeItem, directory, placeBid} {
		fn.LogFigures(t)
	}
}

// startProcessor runs the auction processor on brokers until t ends.
func startProcessor(t *testing.T, brokers []string) {
	t.Helper()
	cfg := kafkatest.Config(brokers, 3)
	cfg.ClientID = "auction-lambda-test"
	if err := kafkaio.EnsureTopics(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	p, err := auction.New(auction.Config{Kafka: cfg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func() {}) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("processor: %v", err)
		}
	})
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/auctionflow/auction/internal/embedbroker"
)

// TestBrokerDownAnswers503: 202 means "in Kafka". With the broker gone, a
// gateway keeps serving and answers writes with 503 problem+json and
// Retry-After once the producer gives up, never 202. (Bids and items share
// the producer; an item is used because a bid would first need the
// processor, which a lost broker rightly stops.)
func TestBrokerDownAnswers503(t *testing.T) {
	broker, err := embedbroker.Start(0)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close() // Close is idempotent: the test closes it early on purpose
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	env := map[string]string{
		"AUCTION_KAFKA_BROKERS": strings.Join(broker.Addrs(), ","), "AUCTION_PARTITIONS": "3",
		"AUCTION_HTTP_ADDR": "127.0.0.1:0", "AUCTION_JWT_KEY": strings.Repeat("k", 32),
		"AUCTION_DELIVERY_TIMEOUT": "2s", "AUCTION_TARGET": "gateway",
	}
	go func() {
		done <- run(ctx, nil, runEnv{getenv: func(k string) string { return env[k] }, stdout: stdout, stderr: stderr,
			listening: func(a string) { addrs <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done: // components may report the lost broker; stopping is what matters
		case <-time.After(30 * time.Second):
			t.Error("run did not stop within 30 s of cancellation")
		}
	})
	var p *testPlatform
	select {
	case a := <-addrs:
		p = &testPlatform{base: "http://" + a, brokers: broker.Addrs(), stdout: stdout}
	case err := <-done:
		t.Fatalf("run stopped early: %v\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("not listening within 15 s\n%s", stderr.String())
	}
	p.waitReady(t)
	item := `{"title":"Lamp","category":"lamps","currency":"EUR","startingPrice":100,"durationSeconds":60}`
	post := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/items", strings.NewReader(item))
		req.Header.Set("Authorization", "Bearer "+p.token(t, "alice@example.com"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := post(); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("item with the broker up: got %d, want 202", resp.StatusCode)
	}

	broker.Close()
	start := time.Now()
	resp := post()
	defer resp.Body.Close()
	var prob struct {
		Status int
		Type   string
	}
	_ = json.NewDecoder(resp.Body).Decode(&prob)
	if resp.StatusCode != http.StatusServiceUnavailable || prob.Status != http.StatusServiceUnavailable ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("item with the broker down: got %d %s %+v, want 503 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), prob)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After: got %q, want seconds", resp.Header.Get("Retry-After"))
	}
	t.Logf("503 after %s (delivery timeout 2 s)", time.Since(start).Round(time.Millisecond))
}

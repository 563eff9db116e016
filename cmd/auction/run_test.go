package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
)

// TestRunEmbedded starts the whole platform the way the README's run command
// does (embedded broker, every target, demo users) and walks the spine: an
// item posted over HTTP goes through the edge function into auction.items,
// the processor stores it, and the gateway serves it from its view.
func TestRunEmbedded(t *testing.T) {
	start := time.Now()
	p := startPlatform(t, nil)
	base := p.base
	if code := get(t, base+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("GET /healthz: got %d, want 200", code)
	}
	t.Logf("healthy %s after start", time.Since(start).Round(time.Millisecond))

	out := p.stdout.String()
	for _, who := range []string{"alice@example.com", "bob@example.com", "carol@example.com", demoPassword} {
		if !strings.Contains(out, who) {
			t.Fatalf("stdout does not mention %q:\n%s", who, out)
		}
	}
	m := regexp.MustCompile(`TOKEN=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout prints no TOKEN= line:\n%s", out)
	}
	token := m[1]

	body := `{"title":"Vintage camera","category":"cameras","currency":"EUR","startingPrice":5000,"durationSeconds":120}`
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/items", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var placed struct{ ItemID, Status string }
	decode(t, resp, &placed)
	if resp.StatusCode != http.StatusAccepted || placed.ItemID == "" || placed.Status != "pending" {
		t.Fatalf("POST /v1/items: got %d %+v, want 202 with an item id, pending", resp.StatusCode, placed)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/items/"+placed.ItemID {
		t.Fatalf("Location: got %q, want /v1/items/%s", loc, placed.ItemID)
	}

	posted := time.Now()
	var item struct {
		ItemID, SellerID, Title, Status string
		StartingPrice                   int64
	}
	for {
		if code := get(t, base+"/v1/items/"+placed.ItemID, &item); code == http.StatusOK {
			break
		}
		if time.Since(posted) > time.Second {
			t.Fatalf("item not readable within 1 s of its 202")
		}
		// Poll, do not sleep-and-hope: the loop is bounded by the deadline above.
		<-time.After(10 * time.Millisecond)
	}
	t.Logf("item readable %s after its 202", time.Since(posted).Round(time.Millisecond))
	if item.ItemID != placed.ItemID || item.SellerID != "u-alice" || item.Title != "Vintage camera" ||
		item.Status != "open" || item.StartingPrice != 5000 {
		t.Fatalf("GET item: got %+v, want alice's open camera at 5000", item)
	}

	if code := get(t, base+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("GET /readyz: got %d, want 200", code)
	}

	// A bid retried with its Idempotency-Key gets the first answer back and
	// puts exactly one event on auction.bids.
	bobToken := regexp.MustCompile(`bob@example.com\s+id u-bob\s+token \(24h\): (\S+)`).FindStringSubmatch(out)
	if bobToken == nil {
		t.Fatalf("stdout prints no token for bob:\n%s", out)
	}
	var bidIDs []string
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/items/"+placed.ItemID+"/bids", strings.NewReader(`{"amount":6000}`))
		req.Header.Set("Authorization", "Bearer "+bobToken[1])
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "bob-first-bid")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var bid struct{ BidID, Status string }
		decode(t, resp, &bid)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST bid: got %d %+v, want 202", resp.StatusCode, bid)
		}
		bidIDs = append(bidIDs, bid.BidID)
	}
	if bidIDs[0] != bidIDs[1] {
		t.Fatalf("retried bid ids: got %v, want the same id twice", bidIDs)
	}
	brokers := p.brokers
	if n := kafkatest.Count(t, brokers, schemas.TopicBids, 3); n != 1 {
		t.Fatalf("records on %s: got %d, want 1", schemas.TopicBids, n)
	}
	bids := kafkatest.ReadN(t, brokers, schemas.TopicBids, 1, 10*time.Second)
	if string(bids[0].Key) != placed.ItemID {
		t.Fatalf("bid record key: got %q, want the item id %q", bids[0].Key, placed.ItemID)
	}
}

// testPlatform is `auction run` running in-process for a test.
type testPlatform struct {
	base    string // http://host:port of the gateway
	brokers []string
	stdout  *syncbuf.Buffer
}

// startPlatform runs the whole platform as the README's run command does,
// on an embedded broker whose address the test knows, and stops it when the
// test ends (asserting a clean shutdown).
// Options change the run environment (e.g. to collect spans).
func startPlatform(t *testing.T, extra map[string]string, opts ...func(*runEnv)) *testPlatform {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	kafkaPort := freePort(t)
	env := map[string]string{"AUCTION_HTTP_ADDR": "127.0.0.1:0", "AUCTION_PARTITIONS": "3",
		"AUCTION_EMBEDDED_KAFKA_PORT": strconv.Itoa(kafkaPort)}
	for k, v := range extra {
		env[k] = v
	}
	renv := runEnv{
		getenv: func(k string) string { return env[k] }, stdout: stdout, stderr: stderr,
		listening: func(a string) { addrs <- a },
	}
	for _, o := range opts {
		o(&renv)
	}
	go func() { done <- run(ctx, nil, renv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v after shutdown, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not stop within 30 s of cancellation")
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	})
	select {
	case a := <-addrs:
		p := &testPlatform{base: "http://" + a, brokers: []string{"127.0.0.1:" + strconv.Itoa(kafkaPort)}, stdout: stdout}
		p.waitReady(t)
		return p
	case err := <-done:
		t.Fatalf("run stopped early: %v\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("gateway not listening within 15 s\n%s", stderr.String())
	}
	return nil
}

// waitReady polls /readyz until every check passes.
func (p *testPlatform) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for get(t, p.base+"/readyz", nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("not ready within 15 s")
		}
		<-time.After(20 * time.Millisecond)
	}
}

// token returns the demo token printed for email.
func (p *testPlatform) token(t *testing.T, email string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(email) + `\s+id \S+\s+token \(24h\): (\S+)`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("stdout prints no token for %s:\n%s", email, p.stdout.String())
	}
	return m[1]
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func get(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		decode(t, resp, v)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp.StatusCode
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", resp.Request.URL, err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown target", nil, []string{"-target", "gateway,mailer"}, `unknown target "mailer"`},
		{"bad number", map[string]string{"AUCTION_PARTITIONS": "six"}, nil, "AUCTION_PARTITIONS"},
		{"bad duration", map[string]string{"AUCTION_DELIVERY_TIMEOUT": "5"}, nil, "AUCTION_DELIVERY_TIMEOUT"},
		{"no key with external kafka", map[string]string{"AUCTION_KAFKA_BROKERS": "127.0.0.1:1"}, nil, "AUCTION_JWT_KEY"},
		{"zero partitions", nil, []string{"-partitions", "0"}, "partitions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncbuf.Buffer
			err := run(context.Background(), tt.args, runEnv{
				getenv: func(k string) string { return tt.env[k] }, stdout: io.Discard, stderr: &stderr,
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestEnvTableListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if err := dispatch(context.Background(), []string{"env"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"AUCTION_HTTP_ADDR", "AUCTION_KAFKA_BROKERS", "AUCTION_TARGET", "AUCTION_GOKA_FLUSH", "AUCTION_JWT_KEY"} {
		if !strings.Contains(out.String(), "`"+v+"`") {
			t.Errorf("env table lacks %s:\n%s", v, out.String())
		}
	}
}

// TestReadmeConfigTable keeps the README's configuration table true.
func TestReadmeConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c config
	vars, err := c.bind(flag.NewFlagSet("x", flag.ContinueOnError), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if want := envTable(vars); !strings.Contains(string(readme), want) {
		t.Fatalf("README.md's configuration table is stale; replace it with the output of `go run ./cmd/auction env`:\n%s", want)
	}
}

// TestAdminEndpoints: with AUCTION_ADMIN_ADDR a process serves /healthz at
// once and /readyz 200 once every component in it is ready.
func TestAdminEndpoints(t *testing.T) {
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startPlatform(t, map[string]string{"AUCTION_ADMIN_ADDR": admin})
	if code := get(t, "http://"+admin+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("admin /healthz: got %d, want 200", code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for get(t, "http://"+admin+"/readyz", nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("admin /readyz not 200 within 20 s")
		}
		<-time.After(50 * time.Millisecond)
	}
	if err := healthcheck(context.Background(), "http://"+admin+"/readyz"); err != nil {
		t.Fatalf("healthcheck: got %v, want nil", err)
	}
	if err := healthcheck(context.Background(), "http://"+admin+"/nothing"); err == nil {
		t.Fatal("healthcheck of a 404: got nil, want an error")
	}
}

// TestDemoUsersSeedTwice: a second start against the same store (a restart
// on DynamoDB, a second replica) keeps the demo accounts instead of failing.
func TestDemoUsersSeedTwice(t *testing.T) {
	dir := userdir.NewMemory()
	tokens, err := auth.NewTokens(auth.Config{Key: auth.GenerateKey(), Issuer: "i", Audience: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := seedDemoUsers(context.Background(), dir, tokens)
	if err != nil {
		t.Fatalf("first seed: %v", err)
	}
	second, err := seedDemoUsers(context.Background(), dir, tokens)
	if err != nil {
		t.Fatalf("second seed: got %v, want nil", err)
	}
	for i := range first {
		if second[i].ID != first[i].ID || second[i].Token == "" {
			t.Fatalf("second seed user %d: got %s, want %s with a token", i, second[i].ID, first[i].ID)
		}
	}
}

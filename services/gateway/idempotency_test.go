package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/idempotency"
	"github.com/auctionflow/auction/services/auth"
)

// TestReusedKeyIsAnotherBid: a gateway that has not seen an
// Idempotency-Key before (it restarted, its record expired, or another
// replica took the first request) still never makes a new bid under a
// reused key a duplicate of the first one, which the processor would drop
// after the client was told 202. Only a true retry (same bidder, key, item
// and amount) is the same bid.
func TestReusedKeyIsAnotherBid(t *testing.T) {
	bid := func(t *testing.T, e *specEnv, item, body string) string {
		t.Helper()
		w := e.do(t, specRequest{method: http.MethodPost, path: "/v1/items/" + item + "/bids", body: body,
			auth: "Bearer " + e.token(t), idempotencyKey: "bob-1"})
		if w.Code != http.StatusAccepted {
			t.Fatalf("bid on %s %s: got %d, want 202; %s", item, body, w.Code, w.Body)
		}
		var res struct{ BidID string }
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.BidID == "" {
			t.Fatalf("bid answer %s: no bid id (%v)", w.Body, err)
		}
		return res.BidID
	}
	first := bid(t, specGateway(t, specDeps{}), "item-a", `{"amount":6000}`)

	// Each later request meets a gateway that never saw the key.
	ids := map[string]string{
		"a retry of the first bid": bid(t, specGateway(t, specDeps{}), "item-a", `{"amount":6000}`),
		"the key on another item":  bid(t, specGateway(t, specDeps{}), "item-b", `{"amount":6000}`),
		"the key with another bid": bid(t, specGateway(t, specDeps{}), "item-a", `{"amount":5500}`),
	}
	for what, id := range ids {
		if same := id == first; same != (what == "a retry of the first bid") {
			t.Errorf("%s: bid id %s, first %s; same = %v", what, id, first, same)
		}
	}
	if ids["the key on another item"] == ids["the key with another bid"] {
		t.Errorf("two different bids under one key share the id %s", ids["the key on another item"])
	}
}

// TestIdempotencyOutlivesTheGateway: every write keeps its Idempotency-Key
// in the shared record, so a retry that reaches another gateway (a replica,
// or this one restarted) gets the first answer and nothing runs twice; a
// different request under the key is refused; a 5xx is not kept. On the
// in-process record and on DynamoDB (dynalite), as the platform runs.
func TestIdempotencyOutlivesTheGateway(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		runIdempotency(t, func(*testing.T) idempotency.Store {
			return idempotency.NewMemory(idempotency.DefaultLimits, nil)
		})
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		runIdempotency(t, func(t *testing.T) idempotency.Store {
			table := dynamotest.NewTable(t, client, func(ctx context.Context, _ dynamotable.TableAPI, table string) error {
				return idempotency.EnsureTable(ctx, client, table)
			})
			return idempotency.NewDynamo(client, table, idempotency.DefaultLimits, nil)
		})
	})
}

func runIdempotency(t *testing.T, open func(*testing.T) idempotency.Store) {
	// calls counts the function's invocations; fail makes the next one fail.
	type world struct {
		calls atomic.Int64
		fail  atomic.Bool
		// gate, when set, holds every invocation until it is closed.
		gate chan struct{}
		deps specDeps
	}
	newWorld := func(t *testing.T) *world {
		w := &world{}
		invoked := func() error {
			w.calls.Add(1)
			if w.gate != nil {
				select {
				case <-w.gate:
				case <-time.After(10 * time.Second):
					return errors.New("held past the test's patience")
				}
			}
			if w.fail.CompareAndSwap(true, false) {
				return fmt.Errorf("write: %w", faas.ErrUnavailable)
			}
			return nil
		}
		w.deps = specDeps{
			idempotency: open(t),
			tokenKey:    auth.GenerateKey(),
			placeItem: func(r placeitem.Request) (placeitem.Result, error) {
				if err := invoked(); err != nil {
					return placeitem.Result{}, err
				}
				return placeitem.Result{ItemID: r.ItemID, EndsAt: time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
			},
			placeBid: func(r placebid.Request) (placebid.Result, error) {
				if err := invoked(); err != nil {
					return placebid.Result{}, err
				}
				return placebid.Result{BidID: r.BidID}, nil
			},
		}
		return w
	}
	item := `{"title":"Bicycle","category":"bikes","currency":"EUR","startingPrice":1000,"durationSeconds":3600}`
	writes := []struct {
		name, path, body, other string
		status                  int
	}{
		{"an item", "/v1/items", item, strings.Replace(item, "Bicycle", "Tricycle", 1), http.StatusAccepted},
		{"a bid", "/v1/items/item-1/bids", `{"amount":6000}`, `{"amount":5500}`, http.StatusAccepted},
		{"a batch", "/v1/bids", `{"bids":[{"itemId":"item-1","amount":6000},{"itemId":"item-2","amount":10}]}`,
			`{"bids":[{"itemId":"item-1","amount":6100}]}`, http.StatusAccepted},
		{"an account", "/v1/users", `{"name":"Bob","email":"bob@example.com","password":"correct horse battery","address":{"line1":"1 rue de Rivoli","postcode":"75001","city":"Paris","country":"FR"}}`,
			`{"name":"Bob","email":"bob@example.com","password":"another horse battery","address":{"line1":"1 rue de Rivoli","postcode":"75001","city":"Paris","country":"FR"}}`, http.StatusCreated},
	}
	for _, wr := range writes {
		t.Run(wr.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			first := specGateway(t, w.deps)
			auth := "Bearer " + first.token(t)
			send := func(e *specEnv, body, key string) *httptest.ResponseRecorder {
				return e.do(t, specRequest{method: http.MethodPost, path: wr.path, body: body, auth: auth, idempotencyKey: key})
			}
			a := send(first, wr.body, "key-1")
			if a.Code != wr.status || a.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("first request: %d %v %s, want %d, not replayed", a.Code, a.Header(), a.Body, wr.status)
			}
			calls := w.calls.Load()

			// The gateway restarts: a new one on the same record of keys.
			restarted := specGateway(t, w.deps)
			b := send(restarted, wr.body, "key-1")
			if b.Code != a.Code || b.Body.String() != a.Body.String() || b.Header().Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry after a restart: %d %s (replayed %q), want the first answer %d %s replayed",
					b.Code, b.Body, b.Header().Get("Idempotent-Replayed"), a.Code, a.Body)
			}
			if loc := a.Header().Get("Location"); b.Header().Get("Location") != loc {
				t.Errorf("retry: Location %q, want the first answer's %q", b.Header().Get("Location"), loc)
			}
			c := send(restarted, wr.other, "key-1")
			if c.Code != http.StatusUnprocessableEntity || !strings.Contains(c.Body.String(), "idempotency-key-reused") {
				t.Errorf("another request under the key: %d %s, want 422 idempotency-key-reused", c.Code, c.Body)
			}
			if got := w.calls.Load(); got != calls {
				t.Errorf("the function ran %d more times for a retry and a reused key, want 0", got-calls)
			}

			// A failure the client should retry is not kept: the retry runs.
			w.fail.Store(true)
			if d := send(restarted, wr.other, "key-2"); d.Code != http.StatusServiceUnavailable && wr.path != "/v1/users" {
				t.Errorf("failing request: %d %s, want 503", d.Code, d.Body)
			}
			w.fail.Store(false)
			if wr.path == "/v1/users" {
				return // registration calls no function: nothing to fail
			}
			if e := send(first, wr.other, "key-2"); e.Code != wr.status || e.Header().Get("Idempotent-Replayed") != "" {
				t.Errorf("retry after a 503: %d %s (replayed %q), want %d run anew", e.Code, e.Body, e.Header().Get("Idempotent-Replayed"), wr.status)
			}
		})
	}

	t.Run("a retry while the first request runs", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.gate = make(chan struct{})
		one, two := specGateway(t, w.deps), specGateway(t, w.deps)
		auth := "Bearer " + one.token(t)
		rq := specRequest{method: http.MethodPost, path: "/v1/items/item-1/bids", body: `{"amount":6000}`, auth: auth, idempotencyKey: "k"}
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- one.do(t, rq) }()
		// Wait until the first request holds the key and runs.
		deadline := time.Now().Add(10 * time.Second)
		for w.calls.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the first request never reached the function")
			}
			runtime.Gosched()
		}
		busy := two.do(t, rq)
		if busy.Code != http.StatusConflict || busy.Header().Get("Retry-After") == "" ||
			!strings.Contains(busy.Body.String(), "idempotency-key-in-flight") {
			t.Errorf("retry while running: %d %v %s, want 409 idempotency-key-in-flight with Retry-After", busy.Code, busy.Header(), busy.Body)
		}
		close(w.gate)
		first := <-done
		later := two.do(t, rq)
		if first.Code != http.StatusAccepted || later.Body.String() != first.Body.String() || later.Header().Get("Idempotent-Replayed") != "true" {
			t.Errorf("first %d %s; retry after it %d %s, want 202 and its replay", first.Code, first.Body, later.Code, later.Body)
		}
		if n := w.calls.Load(); n != 1 {
			t.Errorf("the function ran %d times, want 1", n)
		}
	})

	t.Run("another caller's key", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		e := specGateway(t, w.deps)
		other, err := e.tokens.Issue("u-other", 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tok := range []string{e.token(t), other} {
			res := e.do(t, specRequest{method: http.MethodPost, path: "/v1/items/item-1/bids", body: `{"amount":6000}`,
				auth: "Bearer " + tok, idempotencyKey: "shared"})
			var body struct{ BidID string }
			if res.Code != http.StatusAccepted || res.Header().Get("Idempotent-Replayed") != "" || json.Unmarshal(res.Body.Bytes(), &body) != nil {
				t.Fatalf("bid: %d %s, want 202 run for each caller", res.Code, res.Body)
			}
			ids = append(ids, body.BidID)
		}
		if ids[0] == ids[1] {
			t.Errorf("two callers' bids under one key share the id %s", ids[0])
		}
	})
}

// TestBatchKeyNamesNoSingleBid: a bid of a batch sent under a key is not
// the single bid sent under a key that spells the batch's key and the
// bid's place ("k" bid 1, "k/1"), or the processor would drop one of two
// acknowledged bids as a duplicate of the other.
func TestBatchKeyNamesNoSingleBid(t *testing.T) {
	e := specGateway(t, specDeps{})
	auth := "Bearer " + e.token(t)
	b := e.do(t, specRequest{method: http.MethodPost, path: "/v1/bids", auth: auth, idempotencyKey: "k",
		body: `{"bids":[{"itemId":"item-b","amount":100},{"itemId":"item-a","amount":6000}]}`})
	var batch struct{ Results []struct{ BidID string } }
	if err := json.Unmarshal(b.Body.Bytes(), &batch); err != nil || b.Code != http.StatusAccepted || len(batch.Results) != 2 {
		t.Fatalf("batch: %d %s (%v)", b.Code, b.Body, err)
	}
	for _, key := range []string{"k/1", "k1", "k 1", "k-1"} {
		s := e.do(t, specRequest{method: http.MethodPost, path: "/v1/items/item-a/bids", auth: auth, idempotencyKey: key, body: `{"amount":6000}`})
		var single struct{ BidID string }
		if err := json.Unmarshal(s.Body.Bytes(), &single); err != nil || s.Code != http.StatusAccepted {
			t.Fatalf("single bid under %q: %d %s (%v)", key, s.Code, s.Body, err)
		}
		if single.BidID == batch.Results[1].BidID {
			t.Errorf("the single bid under %q has the id %s of the batch's second bid", key, single.BidID)
		}
	}
}

package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/live"
	"github.com/auctionflow/auction/streams/auction"
)

// TestMethodNotAllowedSaysWhatIs: a 405 carries Allow (RFC 9110 15.5.6),
// listing HEAD wherever GET is served.
func TestMethodNotAllowedSaysWhatIs(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		"/v1/items":             "GET, HEAD, POST",
		"/v1/items/item-1":      "GET, HEAD",
		"/v1/items/item-1/bids": "GET, HEAD, POST",
		"/v1/bids":              "POST",
		"/healthz":              "GET, HEAD",
	} {
		w := e.do(t, request{method: http.MethodDelete, path: path})
		problem(t, w, http.StatusMethodNotAllowed)
		if got := w.Header().Get("Allow"); got != want {
			t.Errorf("DELETE %s: Allow %q, want %q", path, got, want)
		}
	}
}

// TestHead: HEAD on a GET route answers as GET would, without the body.
func TestHead(t *testing.T) {
	e := newEnv(t)
	e.auctions.states["item-1"] = openState("item-1", time.Now().Add(time.Hour))
	w := e.do(t, request{method: http.MethodHead, path: "/v1/items/item-1"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("HEAD item: got %d %q, want 200 application/json", w.Code, w.Header().Get("Content-Type"))
	}
	if w := e.do(t, request{method: http.MethodHead, path: "/v1/items/item-2"}); w.Code != http.StatusNotFound {
		t.Fatalf("HEAD unknown item: got %d, want 404", w.Code)
	}
}

func openState(id string, endsAt time.Time) *auction.State {
	return &auction.State{Status: auction.StatusOpen, Item: &schemas.ItemPlaced{
		ItemID: id, Title: id, Category: "bikes", Seller: schemas.Party{ID: "u-s"},
		StartingPrice: schemas.Money{Amount: 100, Currency: "EUR"}, EndsAt: endsAt,
	}}
}

// TestClosingDuringGrace: from endsAt until the processor closes the
// auction (endsAt + grace) bids are refused too_late, so the item says
// closing, not open, and the list filters by it.
func TestClosingDuringGrace(t *testing.T) {
	e := newEnv(t)
	e.auctions.states["item-1"] = openState("item-1", time.Now().Add(-time.Second))
	e.auctions.states["item-2"] = openState("item-2", time.Now().Add(time.Hour))
	var item struct{ Status string }
	w := e.do(t, request{method: http.MethodGet, path: "/v1/items/item-1"})
	if err := json.Unmarshal(w.Body.Bytes(), &item); err != nil || item.Status != "closing" {
		t.Fatalf("item past endsAt: got %s (%v), want status closing", w.Body, err)
	}
	for status, want := range map[string]string{"closing": "item-1", "open": "item-2"} {
		var page struct{ Items []struct{ ItemID string } }
		w := e.do(t, request{method: http.MethodGet, path: "/v1/items?status=" + status})
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Items) != 1 || page.Items[0].ItemID != want {
			t.Fatalf("?status=%s: got %s (%v), want only %s", status, w.Body, err, want)
		}
	}
}

// TestLineageOnlyOfItems: the edge logs a refusal under whatever subject
// the request named; that is no auction, and its lineage is 404, as is an
// id no item can have.
func TestLineageOnlyOfItems(t *testing.T) {
	refused := lineage.Entry{ID: "r-1", Type: schemas.TypeEventRejected, Source: "/auction", Subject: "no-such-item",
		Time: time.Now(), CorrelationID: "no-such-item", Topic: schemas.TopicRejected}
	e := specGateway(t, specDeps{lineage: append(specChain("item-1"), refused)})
	if w := e.do(t, specRequest{method: http.MethodGet, path: "/v1/items/item-1/lineage"}); w.Code != http.StatusOK {
		t.Fatalf("an item's lineage: got %d, want 200", w.Code)
	}
	for _, id := range []string{"no-such-item", strings.Repeat("x", 8000)} {
		if w := e.do(t, specRequest{method: http.MethodGet, path: "/v1/items/" + id + "/lineage"}); w.Code != http.StatusNotFound {
			t.Errorf("lineage of %.20s: got %d, want 404", id, w.Code)
		}
	}
}

// TestPeriodQueryStrict: a period given empty or twice is a 400, not all
// time or the first value.
func TestPeriodQueryStrict(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"?from=", "?to=", "?from=2026-11-01&from=2026-11-02"} {
		problem(t, e.do(t, request{method: http.MethodGet, path: "/v1/analytics" + q}), http.StatusBadRequest)
	}
}

// TestHeadOfTheEventStream answers at once: the stream's headers, no
// stream to wait on.
func TestHeadOfTheEventStream(t *testing.T) {
	e := specGateway(t, specDeps{live: []live.Update{}, states: map[string]*auction.State{"item-1": openState("item-1", time.Now().Add(time.Hour))}})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- e.do(t, specRequest{method: http.MethodHead, path: "/v1/items/item-1/events"}) }()
	select {
	case w := <-done:
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/event-stream" {
			t.Fatalf("HEAD events: got %d %q, want 200 text/event-stream", w.Code, w.Header().Get("Content-Type"))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HEAD of the event stream did not answer within 5 s")
	}
}

// TestSignInThrottled: every sign-in attempt costs a bcrypt hash and is a
// password guess, so an account can be tried 10 times in a row and an
// address 30 times; then 429 with Retry-After, even for the right password.
func TestSignInThrottled(t *testing.T) {
	e := newEnv(t)
	signIn := func(email, pw string) *httptest.ResponseRecorder {
		return e.do(t, request{method: http.MethodPost, path: "/v1/auth/token",
			body: `{"email":"` + email + `","password":"` + pw + `"}`})
	}
	for i := range 10 {
		if w := signIn(email, "wrong guess"); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: got %d, want 401", i+1, w.Code)
		}
	}
	w := signIn(strings.ToUpper(email), password) // the same account, however spelt
	problem(t, w, http.StatusTooManyRequests)
	if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After: got %q, want a positive number of seconds", ra)
	}
	// Other accounts from the same address: 19 more attempts are taken
	// (30 from the address in all, the refused one among them), the next
	// is refused whoever it names.
	for i := range 19 {
		if w := signIn("nobody"+strconv.Itoa(i)+"@example.com", "x"); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d on another account: got %d, want 401", 12+i, w.Code)
		}
	}
	problem(t, signIn("someone-else@example.com", "x"), http.StatusTooManyRequests)
}

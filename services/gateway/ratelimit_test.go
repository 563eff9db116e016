package gateway_test

import (
	"log/slog"
	"net/http"
	"strconv"
	"testing"

	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/services/gateway"
)

// TestRateLimit: a user over the limit gets 429 problem+json with
// Retry-After, and another user is not affected.
func TestRateLimit(t *testing.T) {
	e := newEnv(t)
	e.handler = gateway.New(gateway.Deps{
		Tokens: e.tokens, Users: userdir.NewMemory(), PlaceItem: e.place, Auctions: e.auctions,
		RateLimit: gateway.RateLimit{Rate: 0.5, Burst: 2},
		Log:       slog.New(slog.NewTextHandler(e.logs, nil)),
	}).Routes()
	body := `{"title":"Lamp","category":"lamps","currency":"EUR","startingPrice":100,"durationSeconds":60}`
	alice, _ := e.tokens.Issue("u-alice", 0)
	bob, _ := e.tokens.Issue("u-bob", 0)
	post := func(token string) *http.Response {
		return e.do(t, request{method: http.MethodPost, path: "/v1/items", body: body, auth: "Bearer " + token}).Result()
	}
	for i := range 2 {
		if got := post(alice).StatusCode; got != http.StatusAccepted {
			t.Fatalf("request %d within the burst: got %d, want 202", i+1, got)
		}
	}
	w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: body, auth: "Bearer " + alice})
	p := problem(t, w, http.StatusTooManyRequests)
	if p.Type == "" {
		t.Fatalf("problem type: got empty, want a type")
	}
	ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After: got %q, want 1 or 2 seconds (one token per 2 s)", w.Header().Get("Retry-After"))
	}
	if got := post(bob).StatusCode; got != http.StatusAccepted {
		t.Fatalf("another user: got %d, want 202 (limits are per user)", got)
	}
	if got := len(e.place.Calls()); got != 3 {
		t.Fatalf("function invocations: got %d, want 3 (the limited request never reaches it)", got)
	}
}

package gateway_test

import (
	"encoding/json"
	"net/http"
	"testing"
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

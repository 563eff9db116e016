package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/live"
)

// Live follows the processor's decisions (a live.Hub).
type Live interface {
	Expect(bidID string) (<-chan live.Update, func())
	Watch(itemID string) (<-chan live.Update, func())
}

// maxWait caps Prefer: wait, in seconds.
const maxWait = 10

// preferWait parses RFC 7240's "Prefer: wait=N"; 0 means no preference.
func preferWait(r *http.Request) time.Duration {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err != nil || n <= 0 {
				continue
			}
			return time.Duration(min(n, maxWait)) * time.Second
		}
	}
	return 0
}

type verdictResponse struct {
	BidID    string    `json:"bidId"`
	ItemID   string    `json:"itemId"`
	Status   string    `json:"status"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	BidCount int       `json:"bidCount"`
	At       time.Time `json:"decidedAt"`
}

// awaitVerdict writes the processor's verdict on a bid already in the log:
// 200 accepted or rejected with the reason (409, see bidRefusal), or 202 pending when the
// verdict does not come within wait (the preference is then not applied).
func (g *Gateway) awaitVerdict(w http.ResponseWriter, r *http.Request, verdict <-chan live.Update, wait time.Duration, bidID, itemID string) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case u := <-verdict:
		w.Header().Set("Preference-Applied", fmt.Sprintf("wait=%d", int(wait/time.Second)))
		w.Header().Set("Location", "/v1/bids/"+bidID)
		if a := u.Accepted; a != nil {
			writeJSON(w, http.StatusOK, verdictResponse{BidID: a.BidID, ItemID: a.ItemID, Status: "accepted",
				Amount: a.Amount.Amount, Currency: a.Amount.Currency, BidCount: a.BidCount, At: a.DecidedAt})
			return
		}
		rej := u.Rejected
		g.writeBidRefusal(w, r, itemID, schemas.FieldError{Field: "", Code: string(rej.Reason), Message: rej.Detail})
		return
	case <-timer.C:
	case <-r.Context().Done():
		// The client left, but the bid is in the log: answer as if it had
		// not asked to wait, so an idempotent retry replays a true answer.
	}
	w.Header().Set("Location", "/v1/bids/"+bidID)
	writeJSON(w, http.StatusAccepted, placeBidResponse{BidID: bidID, ItemID: itemID, Status: "pending"})
}

// itemEvents streams an item's bid results and its completion as
// Server-Sent Events until the auction completes or the client leaves.
func (g *Gateway) itemEvents(w http.ResponseWriter, r *http.Request) {
	if g.Live == nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable", "live updates are not enabled on this gateway")
		return
	}
	id := chi.URLParam(r, "itemId")
	s, ok := g.knownItem(w, r, id)
	if !ok {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		g.internal(w, r, fmt.Errorf("response writer %T cannot stream", w))
		return
	}
	updates, cancel := g.Live.Watch(id)
	defer cancel()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return // the headers say it streams; a HEAD has no body to wait on
	}
	// The current state first, so a watcher needs no second request.
	send(w, "item", g.itemView(r.Context(), s, time.Now()))
	flusher.Flush()

	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case u := <-updates:
			switch {
			case u.Accepted != nil:
				send(w, "bid-accepted", u.Accepted)
			case u.Rejected != nil:
				send(w, "bid-rejected", u.Rejected)
			case u.Completed != nil:
				send(w, "item-completed", u.Completed)
				flusher.Flush()
				return
			}
			flusher.Flush()
		case <-heartbeat.C:
			_, _ = fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

func send(w http.ResponseWriter, event string, v any) {
	b, _ := json.Marshal(v) // our own types; they always marshal
	_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
}

package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/services/auth"
)

type placeBidRequest struct {
	Amount int64 `json:"amount"`
}

type placeBidResponse struct {
	BidID  string `json:"bidId"`
	ItemID string `json:"itemId"`
	Status string `json:"status"`
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// placeBid hands a bid to the validate-bid function and answers 202 once the
// bid is in the log. With an Idempotency-Key, a retry gets the first answer
// back and writes nothing.
func (g *Gateway) placeBid(w http.ResponseWriter, r *http.Request) {
	var body placeBidRequest
	if !decodeJSON(w, r, maxBody, &body) {
		return
	}
	bidder, _ := auth.Subject(r.Context())
	itemID := chi.URLParam(r, "itemId")
	req := placebid.Request{BidderID: bidder, ItemID: itemID, Amount: body.Amount}

	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		g.bid(w, r, req)
		return
	}
	if len(key) > maxIdempotencyKey {
		writeProblem(w, r, http.StatusBadRequest, "bad-idempotency-key", "Idempotency-Key must be at most 255 characters")
		return
	}
	scoped := bidder + "\x00" + key
	fingerprint, _ := json.Marshal(req)
	e, owner, reused := g.idem.begin(scoped, fingerprint)
	if reused {
		writeProblem(w, r, http.StatusUnprocessableEntity, "idempotency-key-reused",
			"this Idempotency-Key was used for a different request")
		return
	}
	if !owner {
		if !e.wait(r.Context()) {
			return // the client gave up waiting
		}
		w.Header().Set("Idempotent-Replayed", "true")
		e.answer.writeTo(w)
		return
	}
	req.BidID = placebid.IdempotentID(bidder, key)
	rec := &recorder{header: http.Header{}}
	g.bid(rec, r, req)
	g.idem.finish(scoped, e, rec)
	rec.writeTo(w)
}

// bid invokes the validate-bid function and answers for it.
func (g *Gateway) bid(w http.ResponseWriter, r *http.Request, req placebid.Request) {
	res, err := g.PlaceBid.Invoke(r.Context(), req)
	switch {
	case err != nil:
		g.functionFailed(w, r, err)
	case !res.Accepted():
		writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-bid", "the bid was refused", res.Reasons...)
	default:
		w.Header().Set("Location", "/v1/bids/"+res.BidID)
		writeJSON(w, http.StatusAccepted, placeBidResponse{BidID: res.BidID, ItemID: req.ItemID, Status: "pending"})
	}
}

// recorder captures a response so it can be remembered and replayed.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

func (r *recorder) writeTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}

package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/live"
)

type placeBidRequest struct {
	Amount int64 `json:"amount"`
}

type placeBidResponse struct {
	BidID  string `json:"bidId"`
	ItemID string `json:"itemId"`
	Status string `json:"status"`
}

// placeBid hands a bid to the validate-bid function and answers 202 once the
// bid is in the log. With an Idempotency-Key, a retry gets the first answer
// back and writes nothing (see once).
func (g *Gateway) placeBid(w http.ResponseWriter, r *http.Request) {
	var body placeBidRequest
	if !decodeJSON(w, r, maxBody, &body) {
		return
	}
	bidder, _ := auth.Subject(r.Context())
	req := placebid.Request{BidderID: bidder, ItemID: chi.URLParam(r, "itemId"), Amount: body.Amount}
	g.once(w, r, bidder, req, func(w http.ResponseWriter, key string) {
		if key != "" {
			req.BidID = placebid.IdempotentID(key, req)
		}
		g.bid(w, r, req)
	})
}

// bid invokes the validate-bid function and answers for it. With
// "Prefer: wait=N" it also waits for the processor's verdict.
func (g *Gateway) bid(w http.ResponseWriter, r *http.Request, req placebid.Request) {
	wait := preferWait(r)
	var verdict <-chan live.Update
	if wait > 0 && g.Live != nil {
		if req.BidID == "" {
			req.BidID = uuid.Must(uuid.NewV7()).String()
		}
		// Listen before writing: the verdict can be faster than our answer.
		var cancel func()
		verdict, cancel = g.Live.Expect(req.BidID)
		defer cancel()
	}
	res, err := g.PlaceBid.Invoke(r.Context(), req)
	switch {
	case err != nil:
		g.functionFailed(w, r, err)
	case !res.Accepted():
		g.writeBidRefusal(w, r, req.ItemID, res.Reasons...)
	case verdict != nil:
		g.awaitVerdict(w, r, verdict, wait, res.BidID, req.ItemID)
	default:
		w.Header().Set("Location", "/v1/bids/"+res.BidID)
		writeJSON(w, http.StatusAccepted, placeBidResponse{BidID: res.BidID, ItemID: req.ItemID, Status: "pending"})
	}
}

// maxBatch is the most bids one POST /v1/bids may carry.
const maxBatch = 1000

// maxBatchBody fits maxBatch bids with room for long item ids.
const maxBatchBody = 256 << 10

type batchRequest struct {
	Bids []struct {
		ItemID string `json:"itemId"`
		Amount int64  `json:"amount"`
	} `json:"bids"`
}

type batchResult struct {
	ItemID string               `json:"itemId"`
	BidID  string               `json:"bidId,omitempty"`
	Status string               `json:"status"`
	Errors []schemas.FieldError `json:"errors,omitempty"`
}

// placeBids is the batched edge path: up to maxBatch bids, one invocation,
// one write to the log. It answers 202 with a result per bid, in order:
// "pending" (in the log, awaiting the processor) or "rejected" with reasons.
func (g *Gateway) placeBids(w http.ResponseWriter, r *http.Request) {
	var body batchRequest
	if !decodeJSON(w, r, maxBatchBody, &body) {
		return
	}
	switch n := len(body.Bids); {
	case n == 0:
		writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-batch", "the batch is empty",
			schemas.FieldError{Field: "/bids", Code: "minItems", Message: "send at least one bid"})
		return
	case n > maxBatch:
		writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-batch", fmt.Sprintf("a batch holds at most %d bids", maxBatch),
			schemas.FieldError{Field: "/bids", Code: "maxItems", Message: fmt.Sprintf("got %d bids, the limit is %d", n, maxBatch)})
		return
	}
	// A bid that breaks the contract (its schema) refuses the whole batch
	// before anything is written, every such bid named; a bid the auction's
	// rules refuse is one "rejected" result of the 202.
	bidder, _ := auth.Subject(r.Context())
	reqs := make([]placebid.Request, len(body.Bids))
	var broken []schemas.FieldError
	for i, b := range body.Bids {
		reqs[i] = placebid.Request{BidderID: bidder, ItemID: b.ItemID, Amount: b.Amount}
		at := fmt.Sprintf("/bids/%d", i)
		broken = append(broken, prefixFields(at, placebid.ContractFaults(reqs[i]))...)
		// The body's item id has the schema's length too (the single-bid
		// path names its item in the URL, and no item has such an id:
		// unknown_item).
		if n := utf8.RuneCountInString(b.ItemID); n < 1 || n > schemas.MaxIDLength {
			broken = append(broken, schemas.FieldError{Field: at + "/itemId", Code: "length",
				Message: fmt.Sprintf("itemId must be 1 to %d characters", schemas.MaxIDLength)})
		}
	}
	if len(broken) > 0 {
		writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-batch",
			"bids of the batch break the contract (each is named); nothing was written", broken...)
		return
	}
	g.once(w, r, bidder, reqs, func(w http.ResponseWriter, key string) {
		if key != "" {
			// Each bid is named by the key and its place in the batch,
			// joined by a NUL, which no header value holds: no key of a
			// single bid names the same (bid 1 of batch "k" is not a bid
			// sent alone under "k/1").
			for i := range reqs {
				reqs[i].BidID = placebid.IdempotentID(key+"\x00"+strconv.Itoa(i), reqs[i])
			}
		}
		res, err := g.PlaceBids.Invoke(r.Context(), reqs)
		if err != nil {
			g.functionFailed(w, r, err)
			return
		}
		out := make([]batchResult, len(res))
		for i, x := range res {
			out[i] = batchResult{ItemID: reqs[i].ItemID, BidID: x.BidID, Status: "pending"}
			if !x.Accepted() {
				out[i].Status, out[i].Errors = "rejected", prefixFields(fmt.Sprintf("/bids/%d", i), x.Reasons)
			}
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"results": out})
	})
}

// prefixFields points field errors of one bid into the batch body.
func prefixFields(prefix string, errs []schemas.FieldError) []schemas.FieldError {
	out := make([]schemas.FieldError, len(errs))
	for i, e := range errs {
		e.Field = prefix + e.Field
		out[i] = e
	}
	return out
}

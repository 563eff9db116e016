package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/schemas"
)

// BidHistory reads an item's decided bids, newest first (a
// bidhistory.Store).
type BidHistory interface {
	Page(ctx context.Context, itemID, cursor string, limit int) ([]bidhistory.Entry, string, error)
}

type historyBid struct {
	BidID      string               `json:"bidId"`
	BidderID   string               `json:"bidderId"`
	BidderName string               `json:"bidderName,omitempty"`
	Amount     int64                `json:"amount"`
	Currency   string               `json:"currency"`
	Status     string               `json:"status"`
	Reason     schemas.RejectReason `json:"reason,omitempty"`
	Detail     string               `json:"detail,omitempty"`
	BidCount   int                  `json:"bidCount,omitempty"`
	PlacedAt   time.Time            `json:"placedAt"`
	DecidedAt  time.Time            `json:"decidedAt"`
}

type historyPage struct {
	ItemID     string       `json:"itemId"`
	Bids       []historyBid `json:"bids"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// itemBids answers an item's decided bids, newest first, a page at a time,
// from the bid history read model (fed by auction.bid-results).
func (g *Gateway) itemBids(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "itemId")
	q, errs := strictQuery(r, "limit", "cursor")
	after, limit, errs := pageQuery(q, errs)
	if len(errs) > 0 {
		writeProblem(w, r, http.StatusBadRequest, "bad-query", "the query is invalid", errs...)
		return
	}
	if _, ok := g.knownItem(w, r, id); !ok {
		return
	}
	if g.BidHistory == nil {
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable", "this gateway keeps no bid history (run the lineage target)")
		return
	}
	entries, next, err := g.BidHistory.Page(r.Context(), id, after, limit)
	if err != nil {
		g.internal(w, r, err)
		return
	}
	out := historyPage{ItemID: id, Bids: make([]historyBid, len(entries)), NextCursor: encodeCursor(next)}
	for i, e := range entries {
		out.Bids[i] = historyBid{BidID: e.BidID, BidderID: e.BidderID, BidderName: g.displayName(r.Context(), e.BidderID),
			Amount: e.Amount.Amount, Currency: e.Amount.Currency, Status: e.Status, Reason: e.Reason, Detail: e.Detail,
			BidCount: e.BidCount, PlacedAt: e.PlacedAt, DecidedAt: e.DecidedAt}
	}
	writeJSON(w, http.StatusOK, out)
}

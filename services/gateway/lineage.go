package gateway

import (
	"context"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/schemas"
)

// Lineage reads the events of an auction (a lineage.Store).
type Lineage interface {
	Chain(ctx context.Context, correlationID string) ([]lineage.Entry, error)
}

type lineageResponse struct {
	ItemID string          `json:"itemId"`
	Events []lineage.Entry `json:"events"`
}

// itemLineage answers the causal chain of an auction: every event that
// carries the item as its correlation id, in order, each with its place in
// the log, its cause and its trace.
func (g *Gateway) itemLineage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "itemId")
	if len(id) > schemas.MaxIDLength {
		writeProblem(w, r, http.StatusNotFound, "unknown-item", "no item has an id that long")
		return
	}
	if g.Lineage == nil {
		writeProblem(w, r, http.StatusNotFound, "lineage-off", "this gateway keeps no lineage (run the lineage function)")
		return
	}
	chain, err := g.Lineage.Chain(r.Context(), id)
	if err != nil {
		g.internal(w, r, err)
		return
	}
	// Only an item's chain: edge refusals are logged under whatever subject
	// the refused request named, which is no auction.
	if !slices.ContainsFunc(chain, func(e lineage.Entry) bool { return e.Type == schemas.TypeItemPlaced }) {
		writeProblem(w, r, http.StatusNotFound, "unknown-item", "no events of item "+id+" (a just-placed item appears within moments)")
		return
	}
	writeJSON(w, http.StatusOK, lineageResponse{ItemID: id, Events: chain})
}

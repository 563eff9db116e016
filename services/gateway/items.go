package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/streams/auction"
)

type placeItemRequest struct {
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	Category        string     `json:"category"`
	Currency        string     `json:"currency"`
	StartingPrice   int64      `json:"startingPrice"`
	ReservePrice    *int64     `json:"reservePrice,omitempty"`
	EndsAt          *time.Time `json:"endsAt,omitempty"`
	DurationSeconds int64      `json:"durationSeconds,omitempty"`
	SoftClose       *softClose `json:"softClose,omitempty"`
}

// softClose is an item's soft close, as the API writes it (see
// schemas.SoftClose).
type softClose struct {
	WindowSeconds       int `json:"windowSeconds"`
	MaxExtensionSeconds int `json:"maxExtensionSeconds,omitempty"`
}

type placeItemResponse struct {
	ItemID string    `json:"itemId"`
	Status string    `json:"status"`
	EndsAt time.Time `json:"endsAt"`
}

// placeItem hands the item to the validate-item function and answers 202
// once the item is in the log: the processor has not seen it yet. With an
// Idempotency-Key, a retry gets the first answer back (see once).
func (g *Gateway) placeItem(w http.ResponseWriter, r *http.Request) {
	var body placeItemRequest
	if !decodeJSON(w, r, maxBody, &body) {
		return
	}
	seller, _ := auth.Subject(r.Context())
	req := placeitem.Request{
		SellerID: seller, Title: body.Title, Description: body.Description, Category: body.Category,
		Currency: body.Currency, StartingPrice: body.StartingPrice, ReservePrice: body.ReservePrice,
		EndsAt: body.EndsAt, DurationSeconds: body.DurationSeconds,
	}
	if sc := body.SoftClose; sc != nil {
		req.SoftClose = &schemas.SoftClose{WindowSeconds: sc.WindowSeconds, MaxExtensionSeconds: sc.MaxExtensionSeconds}
	}
	g.once(w, r, seller, req, func(w http.ResponseWriter, key string) {
		if key != "" {
			req.ItemID = placeitem.IdempotentID(key, req)
		}
		res, err := g.PlaceItem.Invoke(r.Context(), req)
		if err != nil {
			g.functionFailed(w, r, err)
			return
		}
		if !res.Accepted() {
			writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-item", "the item was refused", res.Reasons...)
			return
		}
		w.Header().Set("Location", "/v1/items/"+res.ItemID)
		writeJSON(w, http.StatusAccepted, placeItemResponse{ItemID: res.ItemID, Status: "pending", EndsAt: res.EndsAt})
	})
}

// functionFailed maps a failed invocation: the log unreachable or the
// function saturated is 503 (retry later), anything else 500.
func (g *Gateway) functionFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, faas.ErrUnavailable) || errors.Is(err, faas.ErrOverloaded) {
		g.Log.Warn("function unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable",
			"the event log is not accepting writes right now; nothing was recorded, retry later")
		return
	}
	g.internal(w, r, err)
}

type itemResponse struct {
	ItemID        string    `json:"itemId"`
	SellerID      string    `json:"sellerId"`
	SellerName    string    `json:"sellerName,omitempty"`
	Title         string    `json:"title"`
	Description   string    `json:"description"`
	Category      string    `json:"category"`
	Currency      string    `json:"currency"`
	StartingPrice int64     `json:"startingPrice"`
	MinIncrement  int64     `json:"minIncrement"`
	ReserveMet    bool      `json:"reserveMet"`
	EndsAt        time.Time `json:"endsAt"`
	// SoftClose is the item's soft close, if it has one: EndsAt is then
	// the end as late bids moved it.
	SoftClose  *softClose `json:"softClose,omitempty"`
	Status     string     `json:"status"`
	HighestBid *bidView   `json:"highestBid"`
	BidCount   int        `json:"bidCount"`
	Result     *result    `json:"result,omitempty"`
}

type result struct {
	Sold       bool   `json:"sold"`
	WinnerID   string `json:"winnerId,omitempty"`
	WinnerName string `json:"winnerName,omitempty"`
	Price      *int64 `json:"price,omitempty"`
}

type bidView struct {
	Amount     int64     `json:"amount"`
	BidderID   string    `json:"bidderId"`
	BidderName string    `json:"bidderName,omitempty"`
	At         time.Time `json:"at"`
}

func (g *Gateway) getItem(w http.ResponseWriter, r *http.Request) {
	s, ok := g.knownItem(w, r, chi.URLParam(r, "itemId"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, g.itemView(r.Context(), s, time.Now()))
}

// knownItem is the auction of an item the processor knows. For any other
// id, or when the view cannot be read, it answers (404, 500) and ok is
// false.
func (g *Gateway) knownItem(w http.ResponseWriter, r *http.Request, id string) (s *auction.State, ok bool) {
	s, err := g.Auctions.Get(id)
	if err != nil {
		g.internal(w, r, err)
		return nil, false
	}
	if s == nil || s.Item == nil {
		writeProblem(w, r, http.StatusNotFound, "unknown-item", "no item "+id+" (a just-placed item appears within moments)")
		return nil, false
	}
	return s, true
}

// An item's status: open until endsAt, closing from then until the
// processor closes it at endsAt + grace (bids are refused too_late, the
// verdicts of bids already in the log are still to come), then closed.
const (
	statusOpen    = "open"
	statusClosing = "closing"
	statusClosed  = "closed"
)

func itemStatus(s *auction.State, now time.Time) string {
	switch {
	case s.Status == auction.StatusClosed:
		return statusClosed
	case !now.Before(s.End()):
		return statusClosing
	}
	return statusOpen
}

// itemView is the item as the API shows it, with the display names of the
// people in it.
func (g *Gateway) itemView(ctx context.Context, s *auction.State, now time.Time) itemResponse {
	it := s.Item
	status := itemStatus(s, now)
	r := itemResponse{
		ItemID: it.ItemID, SellerID: it.Seller.ID, Title: it.Title, Description: it.Description,
		Category: it.Category, Currency: it.StartingPrice.Currency, StartingPrice: it.StartingPrice.Amount,
		MinIncrement: it.MinIncrement.Amount, EndsAt: s.End(), Status: status, BidCount: s.BidCount,
		SellerName: it.Seller.Name,
	}
	if sc := it.SoftClose; sc != nil {
		r.SoftClose = &softClose{WindowSeconds: sc.WindowSeconds, MaxExtensionSeconds: sc.MaxExtensionSeconds}
	}
	// Whether the reserve is met is public; the reserve itself never is.
	var highest *schemas.Money
	if h := s.Highest; h != nil {
		highest = &h.Amount
	}
	r.ReserveMet = schemas.ReserveMet(it.ReservePrice, highest)
	if h := s.Highest; h != nil {
		r.HighestBid = &bidView{Amount: h.Amount.Amount, BidderID: h.BidderID, BidderName: g.displayName(ctx, h.BidderID), At: h.PlacedAt}
	}
	if res := s.Result; res != nil {
		r.Result = &result{Sold: res.Sold, WinnerID: res.WinnerID, WinnerName: g.displayName(ctx, res.WinnerID)}
		if res.Price != nil {
			r.Result.Price = &res.Price.Amount
		}
	}
	return r
}

const (
	defaultPageSize = 20
	maxPageSize     = 100
)

type itemPage struct {
	Items      []itemResponse `json:"items"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// listItems answers GET /v1/items?status=open|closed&category=...&limit=...&cursor=...
func (g *Gateway) listItems(w http.ResponseWriter, r *http.Request) {
	q, errs := strictQuery(r, "status", "category", "limit", "cursor")
	status := q.Get("status")
	if status != "" && status != statusOpen && status != statusClosing && status != statusClosed {
		errs = append(errs, schemas.FieldError{Field: "status", Code: "enum", Message: "status must be open, closing or closed"})
	}
	if c := q.Get("category"); c != "" && !schemas.ValidCategory(c) {
		errs = append(errs, schemas.FieldError{Field: "category", Code: "pattern",
			Message: fmt.Sprintf("category must be 1 to %d lowercase letters, digits or '-'", schemas.MaxCategoryLength)})
	}
	after, limit, errs := pageQuery(q, errs)
	if len(errs) > 0 {
		writeProblem(w, r, http.StatusBadRequest, "bad-query", "the query is invalid", errs...)
		return
	}
	category := q.Get("category")
	now := time.Now()
	page, err := g.Auctions.List(after, limit, func(s *auction.State) bool {
		return (status == "" || itemStatus(s, now) == status) && (category == "" || s.Item.Category == category)
	})
	if err != nil {
		g.internal(w, r, err)
		return
	}
	out := itemPage{Items: make([]itemResponse, len(page.Items)), NextCursor: encodeCursor(page.Next)}
	for i, s := range page.Items {
		out.Items[i] = g.itemView(r.Context(), s, now)
	}
	writeJSON(w, http.StatusOK, out)
}

type bidResponse struct {
	BidID      string    `json:"bidId"`
	ItemID     string    `json:"itemId"`
	BidderID   string    `json:"bidderId"`
	BidderName string    `json:"bidderName,omitempty"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// getBid answers what became of a bid: pending (held until its item
// arrives), accepted or rejected with the reason. A bid the processor has
// not seen yet is 404 for the moment it takes to get there.
func (g *Gateway) getBid(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "bidId")
	var st *schemas.BidStatus
	var err error
	if g.Bids != nil {
		st, err = g.Bids.Bid(id)
	}
	if err != nil {
		g.internal(w, r, err)
		return
	}
	if st == nil {
		writeProblem(w, r, http.StatusNotFound, "unknown-bid", "no bid "+id+" (a just-placed bid appears within moments)")
		return
	}
	writeJSON(w, http.StatusOK, bidResponse{BidID: st.BidID, ItemID: st.ItemID, BidderID: st.BidderID, BidderName: g.displayName(r.Context(), st.BidderID),
		Amount: st.Amount.Amount, Currency: st.Amount.Currency, Status: st.Status,
		Reason: string(st.Reason), Detail: st.Detail, UpdatedAt: st.UpdatedAt})
}

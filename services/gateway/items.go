package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/kafkaio"
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
}

type placeItemResponse struct {
	ItemID string    `json:"itemId"`
	Status string    `json:"status"`
	EndsAt time.Time `json:"endsAt"`
}

// placeItem hands the item to the validate-item function and answers 202
// once the item is in the log: the processor has not seen it yet.
func (g *Gateway) placeItem(w http.ResponseWriter, r *http.Request) {
	var body placeItemRequest
	if !decodeJSON(w, r, maxBody, &body) {
		return
	}
	seller, _ := auth.Subject(r.Context())
	res, err := g.PlaceItem.Invoke(r.Context(), placeitem.Request{
		SellerID: seller, Title: body.Title, Description: body.Description, Category: body.Category,
		Currency: body.Currency, StartingPrice: body.StartingPrice, ReservePrice: body.ReservePrice,
		EndsAt: body.EndsAt, DurationSeconds: body.DurationSeconds,
	})
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
}

// functionFailed maps a failed invocation: the log unreachable or the
// function saturated is 503 (retry later), anything else 500.
func (g *Gateway) functionFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, kafkaio.ErrUnavailable) || errors.Is(err, faas.ErrOverloaded) {
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
	Title         string    `json:"title"`
	Description   string    `json:"description"`
	Category      string    `json:"category"`
	Currency      string    `json:"currency"`
	StartingPrice int64     `json:"startingPrice"`
	MinIncrement  int64     `json:"minIncrement"`
	ReserveMet    bool      `json:"reserveMet"`
	EndsAt        time.Time `json:"endsAt"`
	Status        string    `json:"status"`
	HighestBid    *bidView  `json:"highestBid"`
	BidCount      int       `json:"bidCount"`
	Result        *result   `json:"result,omitempty"`
}

type result struct {
	Sold     bool   `json:"sold"`
	WinnerID string `json:"winnerId,omitempty"`
	Price    *int64 `json:"price,omitempty"`
}

type bidView struct {
	Amount   int64     `json:"amount"`
	BidderID string    `json:"bidderId"`
	At       time.Time `json:"at"`
}

func (g *Gateway) getItem(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "itemId")
	s, err := g.Auctions.Get(id)
	if err != nil {
		g.internal(w, r, err)
		return
	}
	if s == nil || s.Item == nil {
		writeProblem(w, r, http.StatusNotFound, "unknown-item", "no item "+id+" (a just-placed item appears within moments)")
		return
	}
	writeJSON(w, http.StatusOK, itemView(s))
}

func itemView(s *auction.State) itemResponse {
	it := s.Item
	status := "open"
	if s.Status == auction.StatusClosed {
		status = "closed"
	}
	r := itemResponse{
		ItemID: it.ItemID, SellerID: it.Seller.ID, Title: it.Title, Description: it.Description,
		Category: it.Category, Currency: it.StartingPrice.Currency, StartingPrice: it.StartingPrice.Amount,
		MinIncrement: it.MinIncrement.Amount, EndsAt: it.EndsAt, Status: status, BidCount: s.BidCount,
		// Whether the reserve is met is public; the reserve itself never is.
		ReserveMet: it.ReservePrice == nil || (s.Highest != nil && s.Highest.Amount.Amount >= it.ReservePrice.Amount),
	}
	if h := s.Highest; h != nil {
		r.HighestBid = &bidView{Amount: h.Amount.Amount, BidderID: h.BidderID, At: h.PlacedAt}
	}
	if res := s.Result; res != nil {
		r.Result = &result{Sold: res.Sold, WinnerID: res.WinnerID}
		if res.Price != nil {
			r.Result.Price = &res.Price.Amount
		}
	}
	return r
}

package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/auctionflow/auction/schemas"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists every field that was wrong (an extension member).
	Errors []ProblemError `json:"errors,omitempty"`
	// MinimumNext is the least a bid on the item may offer now, on a bid
	// refused for being too low (an extension member).
	MinimumNext *schemas.Money `json:"minimumNext,omitempty"`
}

// ProblemError is one reason in a problem: where it lies, as RFC 9457's
// examples name it (pointer, a JSON pointer into the body; parameter, a
// query parameter's name), and field, the same place in the form every
// earlier answer had.
type ProblemError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Field     string `json:"field"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

func problemErrors(errs []schemas.FieldError) []ProblemError {
	if len(errs) == 0 {
		return nil
	}
	out := make([]ProblemError, len(errs))
	for i, e := range errs {
		out[i] = ProblemError{Field: e.Field, Code: e.Code, Message: e.Message}
		switch {
		case strings.HasPrefix(e.Field, "/"):
			out[i].Pointer = e.Field
		case e.Field != "":
			out[i].Parameter = e.Field
		}
	}
	return out
}

// problemTypeBase prefixes problem type URIs; each names a section of the API docs.
const problemTypeBase = "https://auctionflow.dev/problems/"

func writeProblem(w http.ResponseWriter, r *http.Request, status int, kind, detail string, errs ...schemas.FieldError) {
	sendProblem(w, r, newProblem(r, status, kind, detail, errs...))
}

func newProblem(r *http.Request, status int, kind, detail string, errs ...schemas.FieldError) Problem {
	return Problem{
		Type:     problemTypeBase + kind,
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
		Errors:   problemErrors(errs),
	}
}

func sendProblem(w http.ResponseWriter, _ *http.Request, p Problem) {
	status := p.Status
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p) // the client has gone if this fails
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// bidRefusal is the one table from why a bid was refused to the HTTP
// answer, whichever layer refused it. A reject reason (schemas.RejectReason)
// is the auction's rules refusing a well-formed bid: it ended, the bidder
// sells the item, the amount is too low. That is a conflict with the state
// of the auction, 409 "bid-rejected", alike when the edge function refuses
// the bid before it reaches the log and when the processor's verdict comes
// back under Prefer: wait, so a client sees one answer for one situation.
// Any other reason is the request breaking the contract (an amount out of
// range, an unknown bidder): 422 "invalid-bid", every reason listed, since
// the request must be fixed whatever the auction's state.
func bidRefusal(reasons []schemas.FieldError) (status int, kind string) {
	for _, r := range reasons {
		if !schemas.IsRejectReason(r.Code) {
			return http.StatusUnprocessableEntity, "invalid-bid"
		}
	}
	return http.StatusConflict, "bid-rejected"
}

// writeBidRefusal answers a refused bid as bidRefusal says. The detail is
// the reason's own message when there is one reason, as the processor's
// verdict has. A bid refused as too low also says, as minimumNext, what the
// next one must offer at least, by the auction as the gateway sees it now.
func (g *Gateway) writeBidRefusal(w http.ResponseWriter, r *http.Request, itemID string, reasons ...schemas.FieldError) {
	status, kind := bidRefusal(reasons)
	detail := "the bid was refused"
	if len(reasons) == 1 && reasons[0].Message != "" {
		detail = reasons[0].Message
	}
	p := newProblem(r, status, kind, detail, reasons...)
	for _, reason := range reasons {
		if low := schemas.RejectReason(reason.Code); low == schemas.ReasonBelowIncrement || low == schemas.ReasonBelowStart {
			p.MinimumNext = g.minimumNext(itemID)
		}
	}
	sendProblem(w, r, p)
}

// minimumNext is the least the next bid on the item may offer, nil when the
// item is unknown or no longer open, or the gateway has no view (Edge).
func (g *Gateway) minimumNext(itemID string) *schemas.Money {
	if g.Auctions == nil {
		return nil
	}
	s, err := g.Auctions.Get(itemID)
	if err != nil || s == nil || s.Item == nil || itemStatus(s, time.Now()) != statusOpen {
		return nil
	}
	if s.Highest == nil {
		m := s.Item.StartingPrice
		return &m
	}
	return &schemas.Money{Amount: s.Highest.Amount.Amount + s.Item.MinIncrement.Amount, Currency: s.Highest.Amount.Currency}
}

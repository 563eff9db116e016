package gateway

import (
	"encoding/json"
	"net/http"

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
	Errors []schemas.FieldError `json:"errors,omitempty"`
}

// problemTypeBase prefixes problem type URIs; each names a section of the API docs.
const problemTypeBase = "https://auctionflow.dev/problems/"

func writeProblem(w http.ResponseWriter, r *http.Request, status int, kind, detail string, errs ...schemas.FieldError) {
	p := Problem{
		Type:     problemTypeBase + kind,
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
		Errors:   errs,
	}
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
// verdict has.
func writeBidRefusal(w http.ResponseWriter, r *http.Request, reasons ...schemas.FieldError) {
	status, kind := bidRefusal(reasons)
	detail := "the bid was refused"
	if len(reasons) == 1 && reasons[0].Message != "" {
		detail = reasons[0].Message
	}
	writeProblem(w, r, status, kind, detail, reasons...)
}

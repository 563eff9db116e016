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

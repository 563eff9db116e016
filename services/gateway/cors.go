package gateway

import (
	"net/http"
	"slices"
	"strings"
)

// cors lets pages of the configured origins call the API from a browser
// (the Fetch standard's CORS protocol), and nobody else: with no origins,
// as by default, it adds nothing and a browser keeps other sites' pages
// out. Tokens travel in the Authorization header, not cookies, so
// credentials are never allowed. A preflight (OPTIONS with
// Access-Control-Request-Method) from an allowed origin is answered 204
// here; any other request goes on with the headers that let the page read
// its answer.
func (g *Gateway) cors(next http.Handler) http.Handler {
	if len(g.CORSOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		if !slices.Contains(g.CORSOrigins, origin) {
			next.ServeHTTP(w, r) // no CORS headers: the browser hides the answer
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Location, Retry-After, Idempotent-Replayed, Preference-Applied, Traceparent")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", strings.Join([]string{http.MethodGet, http.MethodHead, http.MethodPost}, ", "))
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Prefer, Traceparent")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

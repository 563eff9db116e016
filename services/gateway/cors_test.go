package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
)

// TestCORS: off by default (no header a browser would act on); with an
// origin configured, that origin's pages may read answers and preflights
// are answered, and other origins still get nothing.
func TestCORS(t *testing.T) {
	handler := func(origins ...string) http.Handler {
		tokens, err := auth.NewTokens(auth.Config{Key: auth.GenerateKey(), Issuer: issuer, Audience: audience, TTL: tokenTTL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return gateway.New(gateway.Deps{Tokens: tokens, CORSOrigins: origins,
			Ready: []gateway.Check{{Name: "x", Check: func(context.Context) error { return nil }}},
			Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}).Routes()
	}
	send := func(h http.Handler, method, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/healthz", nil)
		r.Header.Set("Origin", origin)
		if method == http.MethodOptions {
			r.Header.Set("Access-Control-Request-Method", http.MethodPost)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	off := handler()
	if got := send(off, http.MethodGet, "https://shop.example").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("by default: Access-Control-Allow-Origin %q, want none", got)
	}
	on := handler("https://shop.example")
	w := send(on, http.MethodGet, "https://shop.example")
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("allowed origin: got %d, Allow-Origin %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("credentials allowed; tokens are headers, never cookies")
	}
	pre := send(on, http.MethodOptions, "https://shop.example")
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("preflight: got %d, Allow-Headers %q; want 204 with the headers", pre.Code, pre.Header().Get("Access-Control-Allow-Headers"))
	}
	for _, m := range []string{http.MethodGet, http.MethodOptions} {
		if got := send(on, m, "https://evil.example").Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("%s from another origin: Access-Control-Allow-Origin %q, want none", m, got)
		}
	}
}

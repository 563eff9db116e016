package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
	"github.com/auctionflow/auction/streams/auction"
)

const (
	issuer   = "https://auth.auctionflow.test"
	audience = "auction-api"
	tokenTTL = 15 * time.Minute

	sellerID = "user-seller-1"
	email    = "Ada@Example.com"
	password = "correct horse battery staple"
)

// fakePlaceItem is the validate-item function: it records every request and
// answers with res or err.
type fakePlaceItem struct {
	mu    sync.Mutex
	calls []placeitem.Request
	res   placeitem.Result
	err   error
}

func (f *fakePlaceItem) Invoke(_ context.Context, in placeitem.Request) (placeitem.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	return f.res, f.err
}

func (f *fakePlaceItem) Calls() []placeitem.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeAuctions is the processor's view.
type fakeAuctions struct {
	states map[string]*auction.State
	err    error
}

func (f *fakeAuctions) Get(itemID string) (*auction.State, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.states[itemID], nil
}

// List pages through the states in item-id order, like auction.View.
func (f *fakeAuctions) List(after string, limit int, keep func(*auction.State) bool) (auction.Page, error) {
	if f.err != nil {
		return auction.Page{}, f.err
	}
	ids := make([]string, 0, len(f.states))
	for id := range f.states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var p auction.Page
	for _, id := range ids {
		s := f.states[id]
		if id <= after || s.Item == nil || !keep(s) {
			continue
		}
		if len(p.Items) == limit {
			p.Next = p.Items[limit-1].Item.ItemID
			break
		}
		p.Items = append(p.Items, s)
	}
	return p, nil
}

// fakeInbox is the notify outbox: each user's notifications, answered in
// the order they are stored here (newest first, as an outbox keeps them) and
// cut at the limit. It records every call.
type fakeInbox struct {
	mu     sync.Mutex
	byUser map[string][]notify.Notification
	err    error
	calls  []inboxCall
}

type inboxCall struct {
	user  string
	limit int
}

func (f *fakeInbox) ForUser(_ context.Context, userID string, limit int) ([]notify.Notification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, inboxCall{user: userID, limit: limit})
	if f.err != nil {
		return nil, f.err
	}
	ns := f.byUser[userID]
	return slices.Clone(ns[:min(limit, len(ns))]), nil
}

func (f *fakeInbox) Calls() []inboxCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeAnalytics is the analytics store. Summary answers summaries[category]
// (zeroes when absent) with the category and period asked for, as the
// stores do; Bidders answers bidders[category], nil when absent. Both answer
// err instead when it is set, and record every call.
type fakeAnalytics struct {
	mu        sync.Mutex
	summaries map[string]analytics.Summary
	bidders   map[string][]string
	err       error
	calls     []analyticsCall
}

type analyticsCall struct {
	method   string // "Summary" or "Bidders"
	category string
	from, to time.Time
}

func (f *fakeAnalytics) Summary(_ context.Context, category string, from, to time.Time) (analytics.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, analyticsCall{method: "Summary", category: category, from: from, to: to})
	if f.err != nil {
		return analytics.Summary{}, f.err
	}
	s := f.summaries[category]
	s.Category, s.From, s.To = category, from, to
	s.ByCurrency = maps.Clone(s.ByCurrency)
	if s.ByCurrency == nil {
		s.ByCurrency = map[string]analytics.CurrencyStats{}
	}
	return s, nil
}

func (f *fakeAnalytics) Bidders(_ context.Context, category string, from, to time.Time) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, analyticsCall{method: "Bidders", category: category, from: from, to: to})
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.bidders[category]), nil
}

func (f *fakeAnalytics) Calls() []analyticsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type env struct {
	key       []byte
	tokens    *auth.Tokens
	place     *fakePlaceItem
	auctions  *fakeAuctions
	inbox     *fakeInbox
	analytics *fakeAnalytics
	logs      *syncbuf.Buffer
	handler   http.Handler
	// edge is the same gateway's Edge.
	edge http.Handler
}

// hashOnce keeps bcrypt out of every test: one cheap hash is enough.
var hashOnce = sync.OnceValues(func() ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
})

func newEnv(t *testing.T, ready ...gateway.Check) *env {
	t.Helper()
	e := &env{
		key:       auth.GenerateKey(),
		place:     &fakePlaceItem{res: placeitem.Result{ItemID: "item-42", EndsAt: time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)}},
		auctions:  &fakeAuctions{states: map[string]*auction.State{}},
		inbox:     &fakeInbox{byUser: map[string][]notify.Notification{}},
		analytics: &fakeAnalytics{summaries: map[string]analytics.Summary{}, bidders: map[string][]string{}},
		logs:      &syncbuf.Buffer{},
	}
	var err error
	e.tokens, err = auth.NewTokens(auth.Config{Key: e.key, Issuer: issuer, Audience: audience, TTL: tokenTTL}, nil)
	if err != nil {
		t.Fatalf("NewTokens: got %v, want nil", err)
	}
	hash, err := hashOnce()
	if err != nil {
		t.Fatalf("hash password: got %v, want nil", err)
	}
	dir := userdir.NewMemory()
	u := userdir.User{ID: sellerID, Name: "Ada", Email: email, PasswordHash: hash,
		Address: userdir.Address{City: "London", Country: "GB"}}
	if err := dir.Create(context.Background(), u); err != nil {
		t.Fatalf("create user: got %v, want nil", err)
	}
	g := gateway.New(gateway.Deps{
		Tokens:    e.tokens,
		Users:     dir,
		PlaceItem: e.place,
		Auctions:  e.auctions,
		Inbox:     e.inbox,
		Analytics: e.analytics,
		Ready:     ready,
		Log:       slog.New(slog.NewTextHandler(e.logs, nil)),
	})
	e.handler, e.edge = g.Routes(), g.Edge()
	return e
}

// tokensAt is a signer with the gateway's key but its own clock, issuer or audience.
func (e *env) tokensAt(t *testing.T, iss, aud string, now func() time.Time) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens(auth.Config{Key: e.key, Issuer: iss, Audience: aud, TTL: tokenTTL}, now)
	if err != nil {
		t.Fatalf("NewTokens: got %v, want nil", err)
	}
	return tk
}

func (e *env) token(t *testing.T) string {
	t.Helper()
	tok, err := e.tokens.Issue(sellerID, 0)
	if err != nil {
		t.Fatalf("Issue: got %v, want nil", err)
	}
	return tok
}

type request struct {
	method      string
	path        string
	body        string
	contentType string // "" means application/json when there is a body
	auth        string // the whole Authorization header
}

func (e *env) do(t *testing.T, rq request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = http.NoBody
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	ct := rq.contentType
	if ct == "" && rq.body != "" {
		ct = "application/json"
	}
	if ct != "-" && ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if rq.auth != "" {
		r.Header.Set("Authorization", rq.auth)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// TestEdge: the edge routes alone answer a write as the whole API does,
// refusals included, and a route of the rest of the API is a problem.
func TestEdge(t *testing.T) {
	e := newEnv(t)
	bearer := "Bearer " + e.token(t)
	for _, rq := range []request{
		{method: http.MethodPost, path: "/v1/items", body: validItem, auth: bearer},
		{method: http.MethodPost, path: "/v1/items", body: validItem},
		{method: http.MethodPost, path: "/v1/items", body: `{"title":`, auth: bearer},
		{method: http.MethodPost, path: "/v1/items", body: `{"title":"","currency":"EUR","startingPrice":-1}`, auth: bearer},
		{method: http.MethodPost, path: "/v1/items", body: validItem, contentType: "text/plain", auth: bearer},
		{method: http.MethodGet, path: "/v1/items", auth: bearer},
	} {
		whole := e.do(t, rq)
		served := e.handler
		e.handler = e.edge
		edge := e.do(t, rq)
		e.handler = served
		strip := func(w *httptest.ResponseRecorder) string { // a problem's instance names its request
			var body map[string]any
			if json.Unmarshal(w.Body.Bytes(), &body) == nil {
				delete(body, "instance")
			}
			out, _ := json.Marshal(body)
			return fmt.Sprintf("%d %s %s", w.Code, w.Header().Get("Content-Type"), out)
		}
		if rq.method == http.MethodGet { // /v1/items is there, for POST only
			if problem(t, edge, http.StatusMethodNotAllowed); edge.Header().Get("Allow") != "POST" {
				t.Errorf("GET /v1/items: Allow %q, want POST", edge.Header().Get("Allow"))
			}
			continue
		}
		if a, b := strip(whole), strip(edge); a != b {
			t.Errorf("%s %s: Routes answer %s, Edge %s", rq.method, rq.path, a, b)
		}
	}
	e.handler = e.edge
	for _, path := range []string{"/healthz", "/v1/openapi.yaml", "/v1/items/item-42", "/"} {
		problem(t, e.do(t, request{method: http.MethodGet, path: path}), http.StatusNotFound)
	}
	// This gateway has no bid invokers: its Edge serves no bid route.
	for _, path := range []string{"/v1/bids", "/v1/items/item-42/bids"} {
		problem(t, e.do(t, request{method: http.MethodPost, path: path, body: `{"amount":1}`, auth: bearer}), http.StatusNotFound)
	}
	// The two bodies that decode reach the function (whose fake takes
	// anything), once through each.
	if n := len(e.place.Calls()); n != 4 {
		t.Errorf("the function was called %d times, want 4", n)
	}
}

// problem checks that w is an RFC 9457 problem with status and returns it.
func problem(t *testing.T, w *httptest.ResponseRecorder, status int) gateway.Problem {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status: got %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type: got %q, want %q", ct, "application/problem+json")
	}
	var p gateway.Problem
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode problem %s: got %v, want nil", w.Body, err)
	}
	if p.Status != status {
		t.Fatalf("problem status: got %d, want %d", p.Status, status)
	}
	if p.Type == "" {
		t.Fatalf("problem type: got %q, want non-empty", p.Type)
	}
	if p.Title != http.StatusText(status) {
		t.Fatalf("problem title: got %q, want %q", p.Title, http.StatusText(status))
	}
	return p
}

const validItem = `{"title":"Bicycle","description":"red","category":"bikes","currency":"EUR",` +
	`"startingPrice":1000,"reservePrice":5000,"durationSeconds":3600}`

func TestBadRequest(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		body   string
		authed bool
		detail string
	}{
		{name: "malformed item", path: "/v1/items", body: `{"title":`, authed: true, detail: "malformed JSON"},
		{name: "wrong type", path: "/v1/items", body: `{"startingPrice":"ten"}`, authed: true, detail: "startingPrice"},
		{name: "unknown field", path: "/v1/items", body: `{"title":"x","color":"red"}`, authed: true, detail: "color"},
		{name: "sellerId in body", path: "/v1/items", body: `{"title":"x","sellerId":"someone-else"}`, authed: true, detail: "sellerId"},
		{name: "two values", path: "/v1/items", body: validItem + validItem, authed: true, detail: "trailing"},
		{name: "array", path: "/v1/items", body: `[]`, authed: true, detail: "malformed"},
		{name: "malformed token request", path: "/v1/auth/token", body: `{"email":`, detail: "malformed JSON"},
		{name: "unknown field on token request", path: "/v1/auth/token", body: `{"email":"a@b.c","password":"x","admin":true}`, detail: "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rq := request{method: http.MethodPost, path: tt.path, body: tt.body}
			if tt.authed {
				rq.auth = "Bearer " + e.token(t)
			}
			p := problem(t, e.do(t, rq), http.StatusBadRequest)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Fatalf("detail: got %q, want it to mention %q", p.Detail, tt.detail)
			}
			if p.Instance != tt.path {
				t.Fatalf("instance: got %q, want %q", p.Instance, tt.path)
			}
			if n := len(e.place.Calls()); n != 0 {
				t.Fatalf("function calls: got %d, want 0", n)
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	past := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		auth func(t *testing.T, e *env) string
	}{
		{name: "missing token", auth: func(*testing.T, *env) string { return "" }},
		{name: "wrong scheme", auth: func(t *testing.T, e *env) string {
			return "Basic " + e.token(t)
		}},
		{name: "scheme without token", auth: func(*testing.T, *env) string { return "Bearer " }},
		{name: "not a JWT", auth: func(*testing.T, *env) string { return "Bearer not-a-token" }},
		{name: "bad signature", auth: func(t *testing.T, _ *env) string {
			other, err := auth.NewTokens(auth.Config{Key: auth.GenerateKey(), Issuer: issuer, Audience: audience}, nil)
			if err != nil {
				t.Fatalf("NewTokens: got %v, want nil", err)
			}
			tok, err := other.Issue(sellerID, 0)
			if err != nil {
				t.Fatalf("Issue: got %v, want nil", err)
			}
			return "Bearer " + tok
		}},
		{name: "expired token", auth: func(t *testing.T, e *env) string {
			tok, err := e.tokensAt(t, issuer, audience, func() time.Time { return past }).Issue(sellerID, 0)
			if err != nil {
				t.Fatalf("Issue: got %v, want nil", err)
			}
			return "Bearer " + tok
		}},
		{name: "wrong audience", auth: func(t *testing.T, e *env) string {
			tok, err := e.tokensAt(t, issuer, "billing-api", nil).Issue(sellerID, 0)
			if err != nil {
				t.Fatalf("Issue: got %v, want nil", err)
			}
			return "Bearer " + tok
		}},
		{name: "wrong issuer", auth: func(t *testing.T, e *env) string {
			tok, err := e.tokensAt(t, "https://evil.example", audience, nil).Issue(sellerID, 0)
			if err != nil {
				t.Fatalf("Issue: got %v, want nil", err)
			}
			return "Bearer " + tok
		}},
		{name: "alg none", auth: func(t *testing.T, _ *env) string {
			now := time.Now()
			claims := jwt.RegisteredClaims{Subject: sellerID, Issuer: issuer, Audience: jwt.ClaimStrings{audience},
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
			tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatalf("sign none: got %v, want nil", err)
			}
			return "Bearer " + tok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: validItem, auth: tt.auth(t, e)})
			p := problem(t, w, http.StatusUnauthorized)
			if p.Instance != "/v1/items" {
				t.Fatalf("instance: got %q, want %q", p.Instance, "/v1/items")
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Fatalf("WWW-Authenticate: got %q, want a Bearer challenge", got)
			}
			if n := len(e.place.Calls()); n != 0 {
				t.Fatalf("function calls: got %d, want 0", n)
			}
		})
	}
}

func TestIssueTokenRefused(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "bad password", body: `{"email":"ada@example.com","password":"wrong"}`},
		{name: "empty password", body: `{"email":"ada@example.com","password":""}`},
		{name: "unknown email", body: `{"email":"nobody@example.com","password":"` + password + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(t, request{method: http.MethodPost, path: "/v1/auth/token", body: tt.body})
			p := problem(t, w, http.StatusUnauthorized)
			// Unknown email and bad password must read the same: no account enumeration.
			if p.Detail != userdir.ErrBadPassword.Error() {
				t.Fatalf("detail: got %q, want %q", p.Detail, userdir.ErrBadPassword.Error())
			}
			if strings.Contains(w.Body.String(), "accessToken") {
				t.Fatalf("body: got %s, want no token", w.Body)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		typ    string
	}{
		{name: "unknown item", method: http.MethodGet, path: "/v1/items/no-such-item", typ: "unknown-item"},
		{name: "unknown route", method: http.MethodGet, path: "/v2/items", typ: "not-found"},
		{name: "unknown route under v1", method: http.MethodGet, path: "/v1/nothing-here", typ: "not-found"},
		{name: "unknown root", method: http.MethodGet, path: "/", typ: "not-found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := problem(t, e.do(t, request{method: tt.method, path: tt.path}), http.StatusNotFound)
			if !strings.HasSuffix(p.Type, "/"+tt.typ) {
				t.Fatalf("type: got %q, want it to end in %q", p.Type, "/"+tt.typ)
			}
		})
	}
}

func TestItemStateWithoutItemIsNotFound(t *testing.T) {
	e := newEnv(t)
	// Bids arrived before their item: the processor has a row but no item.
	e.auctions.states["early"] = &auction.State{Status: auction.StatusAwaitingItem}
	problem(t, e.do(t, request{method: http.MethodGet, path: "/v1/items/early"}), http.StatusNotFound)
}

func TestMethodNotAllowed(t *testing.T) {
	tests := []struct {
		method string
		path   string
	}{
		{method: http.MethodPut, path: "/v1/items"},
		{method: http.MethodDelete, path: "/v1/items/item-42"},
		{method: http.MethodGet, path: "/v1/auth/token"},
		{method: http.MethodPost, path: "/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e := newEnv(t)
			p := problem(t, e.do(t, request{method: tt.method, path: tt.path}), http.StatusMethodNotAllowed)
			if !strings.Contains(p.Detail, tt.method) {
				t.Fatalf("detail: got %q, want it to name %s", p.Detail, tt.method)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	tests := []struct {
		name   string
		path   string
		body   string
		authed bool
	}{
		{name: "item over 64 KiB", path: "/v1/items", body: `{"title":"` + big + `"}`, authed: true},
		{name: "token request over 64 KiB", path: "/v1/auth/token", body: `{"email":"` + big + `"}`},
		// A valid value padded past the limit is still too large, not malformed.
		{name: "padded item", path: "/v1/items", body: validItem + strings.Repeat(" ", 64<<10), authed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rq := request{method: http.MethodPost, path: tt.path, body: tt.body}
			if tt.authed {
				rq.auth = "Bearer " + e.token(t)
			}
			p := problem(t, e.do(t, rq), http.StatusRequestEntityTooLarge)
			if !strings.Contains(p.Detail, strconv.Itoa(64<<10)) {
				t.Fatalf("detail: got %q, want it to state the limit %d", p.Detail, 64<<10)
			}
			if n := len(e.place.Calls()); n != 0 {
				t.Fatalf("function calls: got %d, want 0", n)
			}
		})
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		contentType string
		authed      bool
	}{
		{name: "text/plain item", path: "/v1/items", contentType: "text/plain", authed: true},
		{name: "form item", path: "/v1/items", contentType: "application/x-www-form-urlencoded", authed: true},
		{name: "no content type", path: "/v1/items", contentType: "-", authed: true},
		{name: "unparsable content type", path: "/v1/items", contentType: "application/json; ===", authed: true},
		{name: "xml token request", path: "/v1/auth/token", contentType: "application/xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rq := request{method: http.MethodPost, path: tt.path, body: validItem, contentType: tt.contentType}
			if tt.authed {
				rq.auth = "Bearer " + e.token(t)
			}
			problem(t, e.do(t, rq), http.StatusUnsupportedMediaType)
			if n := len(e.place.Calls()); n != 0 {
				t.Fatalf("function calls: got %d, want 0", n)
			}
		})
	}
}

func TestUnprocessable(t *testing.T) {
	reasons := []schemas.FieldError{
		{Field: "/title", Code: "length", Message: "title must be 1 to 120 characters"},
		{Field: "/currency", Code: "currency", Message: `unknown currency "XXX" (ISO 4217 code expected)`},
	}
	e := newEnv(t)
	e.place.res = placeitem.Result{Reasons: reasons}
	w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: validItem, auth: "Bearer " + e.token(t)})
	p := problem(t, w, http.StatusUnprocessableEntity)
	// Each reason points into the body, as field did before.
	want := []gateway.ProblemError{
		{Pointer: "/title", Field: "/title", Code: "length", Message: reasons[0].Message},
		{Pointer: "/currency", Field: "/currency", Code: "currency", Message: reasons[1].Message},
	}
	if !slices.Equal(p.Errors, want) {
		t.Fatalf("errors: got %+v, want %+v", p.Errors, want)
	}
	if loc := w.Header().Get("Location"); loc != "" {
		t.Fatalf("Location: got %q, want none", loc)
	}
}

func TestFunctionFailed(t *testing.T) {
	const secret = "dial tcp 10.0.0.7:9092: password=hunter2"
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter bool
		logged     string
	}{
		{name: "log unavailable", err: fmt.Errorf("publish item: %w", errors.Join(faas.ErrUnavailable, errors.New(secret))),
			status: http.StatusServiceUnavailable, retryAfter: true, logged: "hunter2"},
		{name: "function overloaded", err: fmt.Errorf("placeitem: %w", errors.Join(faas.ErrOverloaded, context.Canceled)),
			status: http.StatusServiceUnavailable, retryAfter: true, logged: "function overloaded"},
		{name: "other error", err: fmt.Errorf("look up seller: %w", errors.New(secret)),
			status: http.StatusInternalServerError, logged: "hunter2"},
		{name: "deadline", err: fmt.Errorf("%s: %w", secret, context.DeadlineExceeded),
			status: http.StatusInternalServerError, logged: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.place.err = tt.err
			w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: validItem, auth: "Bearer " + e.token(t)})
			problem(t, w, tt.status)
			if got := w.Header().Get("Retry-After"); (got != "") != tt.retryAfter {
				t.Fatalf("Retry-After: got %q, want present=%v", got, tt.retryAfter)
			}
			if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Fatalf("body: got %s, want the cause not leaked", w.Body)
			}
			if logs := e.logs.String(); !strings.Contains(logs, tt.logged) {
				t.Fatalf("log: got %q, want the cause logged", logs)
			}
		})
	}
}

func TestGetItemViewFailed(t *testing.T) {
	e := newEnv(t)
	e.auctions.err = errors.New("rocksdb: corruption in block 0xdeadbeef")
	w := e.do(t, request{method: http.MethodGet, path: "/v1/items/item-42"})
	problem(t, w, http.StatusInternalServerError)
	if strings.Contains(w.Body.String(), "deadbeef") {
		t.Fatalf("body: got %s, want the cause not leaked", w.Body)
	}
}

func TestIssueToken(t *testing.T) {
	tests := []struct {
		name  string
		email string
	}{
		{name: "as registered", email: email},
		{name: "other case and spaces", email: "  ADA@example.COM "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			body, _ := json.Marshal(map[string]string{"email": tt.email, "password": password})
			w := e.do(t, request{method: http.MethodPost, path: "/v1/auth/token", body: string(body)})
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, http.StatusOK, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type: got %q, want %q", ct, "application/json")
			}
			var got struct {
				AccessToken string `json:"accessToken"`
				TokenType   string `json:"tokenType"`
				ExpiresIn   int    `json:"expiresIn"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %s: got %v, want nil", w.Body, err)
			}
			if got.TokenType != "Bearer" {
				t.Fatalf("tokenType: got %q, want %q", got.TokenType, "Bearer")
			}
			if want := int(tokenTTL.Seconds()); got.ExpiresIn != want {
				t.Fatalf("expiresIn: got %d, want %d", got.ExpiresIn, want)
			}
			sub, err := e.tokens.Verify(got.AccessToken)
			if err != nil || sub != sellerID {
				t.Fatalf("Verify(accessToken): got %q, %v, want %q, nil", sub, err, sellerID)
			}
		})
	}
}

func TestPlaceItem(t *testing.T) {
	reserve := int64(5000)
	endsAt := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name        string
		body        string
		contentType string
		want        placeitem.Request
	}{
		{
			name: "duration",
			body: validItem,
			want: placeitem.Request{SellerID: sellerID, Title: "Bicycle", Description: "red", Category: "bikes",
				Currency: "EUR", StartingPrice: 1000, ReservePrice: &reserve, DurationSeconds: 3600},
		},
		{
			name:        "endsAt, charset parameter",
			body:        `{"title":"Lamp","category":"home","currency":"GBP","startingPrice":250,"endsAt":"2031-05-06T07:08:09Z"}`,
			contentType: "application/json; charset=utf-8",
			want: placeitem.Request{SellerID: sellerID, Title: "Lamp", Category: "home", Currency: "GBP",
				StartingPrice: 250, EndsAt: &endsAt},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: tt.body,
				contentType: tt.contentType, auth: "Bearer " + e.token(t)})
			if w.Code != http.StatusAccepted {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, http.StatusAccepted, w.Body)
			}
			if loc := w.Header().Get("Location"); loc != "/v1/items/item-42" {
				t.Fatalf("Location: got %q, want %q", loc, "/v1/items/item-42")
			}
			var got struct {
				ItemID string    `json:"itemId"`
				Status string    `json:"status"`
				EndsAt time.Time `json:"endsAt"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %s: got %v, want nil", w.Body, err)
			}
			if got.ItemID != "item-42" || got.Status != "pending" || !got.EndsAt.Equal(e.place.res.EndsAt) {
				t.Fatalf("body: got %+v, want item-42, pending, %v", got, e.place.res.EndsAt)
			}
			calls := e.place.Calls()
			if len(calls) != 1 {
				t.Fatalf("function calls: got %d, want 1", len(calls))
			}
			assertRequest(t, calls[0], tt.want)
		})
	}
}

func assertRequest(t *testing.T, got, want placeitem.Request) {
	t.Helper()
	deref := func(p *int64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	if deref(got.ReservePrice) != deref(want.ReservePrice) {
		t.Fatalf("ReservePrice: got %v, want %v", deref(got.ReservePrice), deref(want.ReservePrice))
	}
	if (got.EndsAt == nil) != (want.EndsAt == nil) || got.EndsAt != nil && !got.EndsAt.Equal(*want.EndsAt) {
		t.Fatalf("EndsAt: got %v, want %v", got.EndsAt, want.EndsAt)
	}
	got.ReservePrice, want.ReservePrice, got.EndsAt, want.EndsAt = nil, nil, nil, nil
	if got != want {
		t.Fatalf("request: got %+v, want %+v", got, want)
	}
}

func TestGetItem(t *testing.T) {
	endsAt := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	item := func(reserve *schemas.Money) *schemas.ItemPlaced {
		return &schemas.ItemPlaced{
			ItemID: "item-42", Seller: schemas.Party{ID: sellerID, Name: "Ada", Location: "GB-LON"},
			Title: "Bicycle", Description: "red", Category: "bikes",
			StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"}, ReservePrice: reserve,
			MinIncrement: schemas.Money{Amount: 10, Currency: "EUR"}, EndsAt: endsAt, PlacedAt: endsAt.Add(-time.Hour),
		}
	}
	highest := &auction.Bid{BidID: "bid-1", BidderID: sellerID, Amount: schemas.Money{Amount: 1500, Currency: "EUR"}, PlacedAt: endsAt.Add(-time.Minute)}
	tests := []struct {
		name       string
		state      *auction.State
		reserveMet bool
		status     string
		// extra are the fields a state with bids adds
		extra map[string]any
	}{
		{name: "open with reserve", state: &auction.State{Status: auction.StatusOpen,
			Item: item(&schemas.Money{Amount: 987654, Currency: "EUR"})}, reserveMet: false, status: "open"},
		{name: "open without reserve", state: &auction.State{Status: auction.StatusOpen, Item: item(nil)},
			reserveMet: true, status: "open"},
		{name: "closed", state: &auction.State{Status: auction.StatusClosed, Item: item(nil)},
			reserveMet: true, status: "closed"},
		// The people in it are named, by the directory: the highest bidder
		// and the winner (here the seller's account, the one user the
		// directory has), and one it does not know by their id alone.
		{name: "sold, names", state: &auction.State{Status: auction.StatusClosed, Item: item(nil), Highest: highest, BidCount: 1,
			Result: &schemas.ItemCompleted{ItemID: "item-42", Sold: true, WinnerID: sellerID, Price: &highest.Amount}},
			reserveMet: true, status: "closed", extra: map[string]any{
				"highestBid": map[string]any{"amount": float64(1500), "bidderId": sellerID, "bidderName": "Ada", "at": "2031-05-06T07:07:09Z"},
				"result":     map[string]any{"sold": true, "winnerId": sellerID, "winnerName": "Ada", "price": float64(1500)},
				"bidCount":   float64(1)}},
		{name: "a bidder the directory does not know", state: &auction.State{Status: auction.StatusOpen, Item: item(nil), BidCount: 1,
			Highest: &auction.Bid{BidID: "bid-2", BidderID: "u-gone", Amount: highest.Amount, PlacedAt: highest.PlacedAt}},
			reserveMet: true, status: "open", extra: map[string]any{
				"highestBid": map[string]any{"amount": float64(1500), "bidderId": "u-gone", "at": "2031-05-06T07:07:09Z"},
				"bidCount":   float64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.auctions.states["item-42"] = tt.state
			w := e.do(t, request{method: http.MethodGet, path: "/v1/items/item-42"})
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, http.StatusOK, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type: got %q, want %q", ct, "application/json")
			}
			// The reserve is secret: neither its value nor its name is in the body.
			if b := w.Body.String(); strings.Contains(b, "987654") || strings.Contains(strings.ToLower(b), "reserveprice") {
				t.Fatalf("body: got %s, want no reserve price", b)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %s: got %v, want nil", w.Body, err)
			}
			want := map[string]any{
				"itemId": "item-42", "sellerId": sellerID, "sellerName": "Ada", "title": "Bicycle", "description": "red",
				"category": "bikes", "currency": "EUR", "startingPrice": float64(1000), "minIncrement": float64(10),
				"reserveMet": tt.reserveMet, "endsAt": "2031-05-06T07:08:09Z", "status": tt.status,
				"highestBid": nil, "bidCount": float64(0),
			}
			maps.Copy(want, tt.extra)
			for k, v := range want {
				if !reflect.DeepEqual(got[k], v) {
					t.Fatalf("%s: got %v (%T), want %v (%T)", k, got[k], got[k], v, v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Fatalf("field %q: got present, want absent", k)
				}
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, gateway.Check{Name: "kafka", Check: func(context.Context) error { return errors.New("down") }})
	w := e.do(t, request{method: http.MethodGet, path: "/healthz"})
	// Liveness does not depend on the broker.
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name   string
		checks []gateway.Check
		status int
		want   map[string]string
	}{
		{name: "no checks", status: http.StatusOK, want: map[string]string{}},
		{name: "all ok", checks: []gateway.Check{{Name: "kafka", Check: ok}, {Name: "view", Check: ok}},
			status: http.StatusOK, want: map[string]string{"kafka": "ok", "view": "ok"}},
		{name: "one failing", checks: []gateway.Check{{Name: "kafka", Check: ok},
			{Name: "view", Check: func(context.Context) error { return errors.New("still recovering") }}},
			status: http.StatusServiceUnavailable, want: map[string]string{"kafka": "ok", "view": "still recovering"}},
		{name: "check gets a deadline", checks: []gateway.Check{{Name: "deadline", Check: func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			return nil
		}}}, status: http.StatusOK, want: map[string]string{"deadline": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.checks...)
			w := e.do(t, request{method: http.MethodGet, path: "/readyz"})
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, tt.status, w.Body)
			}
			var got struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %s: got %v, want nil", w.Body, err)
			}
			wantStatus := "ok"
			if tt.status != http.StatusOK {
				wantStatus = "unavailable"
			}
			if got.Status != wantStatus {
				t.Fatalf("status field: got %q, want %q", got.Status, wantStatus)
			}
			if len(got.Checks) != len(tt.want) {
				t.Fatalf("checks: got %v, want %v", got.Checks, tt.want)
			}
			for k, v := range tt.want {
				if got.Checks[k] != v {
					t.Fatalf("check %s: got %q, want %q", k, got.Checks[k], v)
				}
			}
		})
	}
}

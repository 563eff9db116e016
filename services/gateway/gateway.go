// Package gateway is the platform's HTTP API (the "API gateway"): a chi
// router that authenticates callers, decodes requests, invokes the edge
// functions synchronously and answers from the processor's views. It holds
// no auction state of its own.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/idempotency"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/streams/auction"
)

// Invoker runs a function synchronously (a faas.Function).
type Invoker[In, Out any] interface {
	Invoke(ctx context.Context, in In) (Out, error)
}

// Auctions reads auction state (an auction.View).
type Auctions interface {
	Get(itemID string) (*auction.State, error)
	List(after string, limit int, keep func(*auction.State) bool) (auction.Page, error)
}

// Bids reads bid statuses (an auction.BidView).
type Bids interface {
	Bid(bidID string) (*schemas.BidStatus, error)
}

// Profiles reads users by id (a userdir.Cached).
type Profiles interface {
	Get(ctx context.Context, id string) (userdir.User, error)
}

// Check is a named readiness check.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are the gateway's collaborators.
type Deps struct {
	Tokens *auth.Tokens
	Users  userdir.Directory
	// Profiles answers display names for the API's bodies and public
	// profiles: a cache in front of Users (nil: Users itself).
	Profiles  Profiles
	PlaceItem Invoker[placeitem.Request, placeitem.Result]
	PlaceBid  Invoker[placebid.Request, placebid.Result]
	// PlaceBids is the batched edge path: many bids, one write to the log.
	PlaceBids Invoker[[]placebid.Request, []placebid.Result]
	Auctions  Auctions
	Bids      Bids
	Inbox     Inbox
	Analytics Analytics
	// Lineage, if set, answers GET /v1/items/{itemId}/lineage.
	Lineage Lineage
	// BidHistory, if set, answers GET /v1/items/{itemId}/bids.
	BidHistory BidHistory
	// Live, when set, enables Prefer: wait on bids and the SSE stream.
	Live      Live
	Ready     []Check
	RateLimit RateLimit
	// Idempotency keeps the answers to requests sent with an
	// Idempotency-Key; every replica must share it (nil: in this process).
	Idempotency idempotency.Store
	// CORSOrigins are the web origins ("https://shop.example") whose pages
	// may call the API from a browser; none by default.
	CORSOrigins []string
	// Metrics, if set, records every request under its route pattern.
	Metrics *metrics.Metrics
	// Web, if set, serves the browser page at / (everything outside /v1,
	// /healthz, /readyz and /metrics).
	Web http.Handler
	Log *slog.Logger
}

// Gateway serves the API.
type Gateway struct {
	Deps
	idem    idempotency.Store
	fpKey   []byte // keys request fingerprints (see once)
	limiter *userLimiter
	// signIns bounds password guesses (each is a bcrypt hash), per
	// account and per client address.
	signInsByAccount, signInsByAddress *userLimiter
	spec                               []byte
}

// Sign-in limits: an account may be tried 10 times at once, then once every
// 6 s; an address 30 times, then once every 2 s. A person who mistypes
// never meets them; a guesser gets 10 a minute per account.
var (
	signInPerAccount = RateLimit{Rate: 1.0 / 6, Burst: 10}
	signInPerAddress = RateLimit{Rate: 1.0 / 2, Burst: 30}
)

// New returns the gateway; Routes is its handler.
func New(d Deps) *Gateway {
	if d.Profiles == nil && d.Users != nil {
		d.Profiles = d.Users
	}
	idem := d.Idempotency
	if idem == nil {
		idem = idempotency.NewMemory(idempotency.DefaultLimits, nil)
	}
	return &Gateway{
		Deps: d, idem: idem, fpKey: d.Tokens.DeriveKey("idempotency fingerprint"),
		limiter: newUserLimiter(d.RateLimit, time.Now), spec: schemas.OpenAPI(),
		signInsByAccount: newUserLimiter(signInPerAccount, time.Now),
		signInsByAddress: newUserLimiter(signInPerAddress, time.Now),
	}
}

// Routes is the API as a readable tree.
func (g *Gateway) Routes() http.Handler {
	r := g.router()
	if g.Web != nil {
		r.Handle("/", g.Web)
		r.Handle("/*", g.Web)
	}
	r.Get("/healthz", g.healthz)
	r.Get("/readyz", g.readyz)
	r.Route("/v1", func(r chi.Router) {
		r.Get("/openapi.yaml", g.openAPI)
		r.Post("/users", g.register)
		r.Get("/users/{userId}", g.getProfile)
		r.Post("/auth/token", g.issueToken)
		r.Get("/items", g.listItems)
		r.Get("/items/{itemId}", g.getItem)
		r.Get("/bids/{bidId}", g.getBid)
		r.Get("/analytics", g.summary)
		r.Get("/analytics/categories/{category}", g.summary)
		r.Get("/analytics/categories/{category}/bidders", g.bidders)
		r.Get("/items/{itemId}/events", g.itemEvents)
		r.Get("/items/{itemId}/lineage", g.itemLineage)
		r.Get("/items/{itemId}/bids", g.itemBids)
		r.Group(func(r chi.Router) {
			g.writes(r, true)
			r.Get("/me/notifications", g.myNotifications)
		})
	})
	return r
}

// Edge is the edge functions' routes alone: POST /v1/items, POST
// /v1/items/{itemId}/bids and POST /v1/bids, behind the same sign-in,
// limits, Idempotency-Keys and problem answers as in Routes. It is for a
// runtime that serves each route from a function of its own (API Gateway
// in front of AWS Lambda, cmd/lambda): it needs Tokens, Users and the
// invokers of its function (PlaceItem, or PlaceBid and PlaceBids), and no
// view. It serves the routes whose invokers are set; anything else is a
// 404 problem (405 for another method on a route's path).
func (g *Gateway) Edge() http.Handler {
	r := g.router()
	r.Route("/v1", func(r chi.Router) { r.Group(func(r chi.Router) { g.writes(r, false) }) })
	return r
}

// writes mounts the routes that invoke the edge functions, each behind a
// bearer token and the per-user limit: all of them, or only those whose
// invoker is set.
func (g *Gateway) writes(r chi.Router, all bool) {
	r.Use(g.Tokens.Require(g.unauthorized), g.limitPerUser)
	if all || g.PlaceItem != nil {
		r.Post("/items", g.placeItem)
	}
	if all || g.PlaceBid != nil {
		r.Post("/items/{itemId}/bids", g.placeBid)
	}
	if all || g.PlaceBids != nil {
		r.Post("/bids", g.placeBids)
	}
}

// router is a router with the middleware and the problem answers (404,
// 405) that every route of the API has.
func (g *Gateway) router() chi.Router {
	r := chi.NewRouter()
	// The client address stays the connection's peer: nothing rewrites it
	// from X-Forwarded-For or X-Real-IP, headers any client can send. No
	// decision keys on it; limits are per signed-in user.
	r.Use(middleware.RequestID, telemetry.HTTP, g.Metrics.HTTP, middleware.Recoverer, g.cors)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "not-found", "no such resource")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		allowed := allowedMethods(r, req.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeProblem(w, req, http.StatusMethodNotAllowed, "method-not-allowed",
			req.Method+" is not allowed here; "+strings.Join(allowed, ", ")+" is")
	})
	// HEAD is GET without the body, on every GET route (RFC 9110 9.3.2).
	r.Use(middleware.GetHead)
	return r
}

// allowedMethods lists the methods the router serves at path, for the
// Allow header of a 405.
func allowedMethods(r chi.Routes, path string) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		lookup := m
		if m == http.MethodHead {
			lookup = http.MethodGet // middleware.GetHead serves HEAD from GET
		}
		if r.Match(chi.NewRouteContext(), lookup, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

func (g *Gateway) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="auction"`)
	writeProblem(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
}

func (g *Gateway) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(g.spec)
}

func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every check with a short deadline: ready means the broker and
// the stores answer now.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	ok := true
	for _, c := range g.Ready {
		if err := c.Check(ctx); err != nil {
			status[c.Name] = err.Error()
			ok = false
			continue
		}
		status[c.Name] = "ok"
	}
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": status})
}

type tokenRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type tokenResponse struct {
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	ExpiresIn   int    `json:"expiresIn"`
}

func (g *Gateway) issueToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if !decodeJSON(w, r, maxBody, &req) {
		return
	}
	if !g.signInAllowed(w, r, req.Email) {
		return
	}
	u, err := g.Users.ByEmail(r.Context(), req.Email)
	if err == nil {
		err = userdir.CheckPassword(u, req.Password)
	}
	switch {
	case errors.Is(err, userdir.ErrNotFound), errors.Is(err, userdir.ErrBadPassword):
		g.unauthorized(w, r, userdir.ErrBadPassword)
		return
	case err != nil:
		g.internal(w, r, err)
		return
	}
	tok, err := g.Tokens.Issue(u.ID, 0)
	if err != nil {
		g.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(g.Tokens.TTL().Seconds())})
}

// internal answers 500 without leaking the cause, and logs it.
func (g *Gateway) internal(w http.ResponseWriter, r *http.Request, err error) {
	g.Log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "request_id", middleware.GetReqID(r.Context()), "err", err)
	writeProblem(w, r, http.StatusInternalServerError, "internal", "something went wrong on our side; it was logged")
}

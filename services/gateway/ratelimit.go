package gateway

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/services/auth"
)

// RateLimit bounds how fast one user may call the authenticated routes
// (placing items and bids; a batch counts as one call). Anonymous reads are
// not limited. Zero Rate turns the limit off.
type RateLimit struct {
	// Rate is requests per second per user; Burst is how many may come at once.
	Rate  float64
	Burst int
}

// DefaultRateLimit is the per-user limit a gateway has unless told
// otherwise (`auction run`'s AUCTION_RATE_LIMIT and AUCTION_RATE_BURST).
var DefaultRateLimit = RateLimit{Rate: 50, Burst: 100}

// userLimiter keeps a token bucket per user. Buckets idle for longer than it
// takes to refill are forgotten, so memory follows active users only.
type userLimiter struct {
	limit RateLimit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newUserLimiter(l RateLimit, now func() time.Time) *userLimiter {
	return &userLimiter{limit: l, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for user, or says how long until one is free.
func (u *userLimiter) allow(user string) (bool, time.Duration) {
	now := u.now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.After(u.sweepAt) {
		idle := time.Duration(float64(u.limit.Burst)/u.limit.Rate*float64(time.Second)) + time.Minute
		for k, b := range u.buckets {
			if now.Sub(b.seen) > idle {
				delete(u.buckets, k)
			}
		}
		u.sweepAt = now.Add(time.Minute)
	}
	b, ok := u.buckets[user]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(u.limit.Rate), u.limit.Burst)}
		u.buckets[user] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limitPerUser answers 429 with Retry-After when the caller is over its rate.
// It runs after authentication: the limit is per user, not per address.
func (g *Gateway) limitPerUser(next http.Handler) http.Handler {
	if g.RateLimit.Rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.Subject(r.Context())
		if ok, wait := g.limiter.allow(user); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeProblem(w, r, http.StatusTooManyRequests, "rate-limited",
				"too many requests from this user; retry after the time in Retry-After")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signInAllowed takes a sign-in attempt from the client's address and then
// from the account, or answers 429 with Retry-After. The address is the
// connection's peer (no forwarded header is trusted); the account is the
// email as the directory normalises it, so case does not make a new one.
func (g *Gateway) signInAllowed(w http.ResponseWriter, r *http.Request, email string) bool {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	for _, c := range []struct {
		lim      *userLimiter
		key, who string
	}{{g.signInsByAddress, addr, "this address"}, {g.signInsByAccount, userdir.NormalizeEmail(email), "this account"}} {
		if ok, wait := c.lim.allow(c.key); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeProblem(w, r, http.StatusTooManyRequests, "rate-limited",
				"too many sign-in attempts for "+c.who+"; retry after the time in Retry-After")
			return false
		}
	}
	return true
}

package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
)

// Inbox reads a user's notifications (a notify.Outbox).
type Inbox interface {
	ForUser(ctx context.Context, userID string, limit int) ([]notify.Notification, error)
}

// Analytics reads the aggregates of completed auctions (an analytics.Store).
type Analytics interface {
	Summary(ctx context.Context, category string, from, to time.Time) (analytics.Summary, error)
	Bidders(ctx context.Context, category string, from, to time.Time) ([]string, error)
}

type notificationView struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	ItemID  string    `json:"itemId"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// inboxLimit is how many of the newest notifications the inbox shows.
const inboxLimit = 50

// myNotifications answers the caller's own notifications, newest first.
func (g *Gateway) myNotifications(w http.ResponseWriter, r *http.Request) {
	user, _ := auth.Subject(r.Context())
	ns, err := g.Inbox.ForUser(r.Context(), user, inboxLimit)
	if err != nil {
		g.internal(w, r, err)
		return
	}
	out := make([]notificationView, len(ns))
	for i, n := range ns {
		out[i] = notificationView{ID: n.ID, Kind: string(n.Kind), ItemID: n.ItemID, Message: n.Message, At: n.At}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, map[string]any{"notifications": out})
}

// period reads ?from=YYYY-MM-DD&to=YYYY-MM-DD (UTC days, to exclusive).
func period(r *http.Request) (from, to time.Time, errs []schemas.FieldError) {
	q, errs := strictQuery(r, "from", "to")
	if len(errs) > 0 {
		return from, to, errs
	}
	parse := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			errs = append(errs, schemas.FieldError{Field: name, Code: "format", Message: name + " must be a date like 2026-11-26"})
		}
		return t
	}
	from, to = parse("from"), parse("to")
	if len(errs) == 0 && !from.IsZero() && !to.IsZero() && to.Before(from) {
		errs = append(errs, schemas.FieldError{Field: "to", Code: "range", Message: "to must not be before from"})
	}
	return from, to, errs
}

// summary answers the aggregates overall, or for the category in the path.
func (g *Gateway) summary(w http.ResponseWriter, r *http.Request) {
	from, to, errs := period(r)
	if len(errs) > 0 {
		writeProblem(w, r, http.StatusBadRequest, "bad-query", "the period is invalid", errs...)
		return
	}
	s, err := g.Analytics.Summary(r.Context(), chi.URLParam(r, "category"), from, to)
	if errors.Is(err, analytics.ErrInvalidPeriod) {
		writeProblem(w, r, http.StatusBadRequest, "bad-query", err.Error())
		return
	}
	if err != nil {
		g.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// bidders is the ad hoc query "out of band, but edge": who bid on the
// auctions of a category that ended in the period, from the stored facts.
func (g *Gateway) bidders(w http.ResponseWriter, r *http.Request) {
	from, to, errs := period(r)
	if len(errs) > 0 {
		writeProblem(w, r, http.StatusBadRequest, "bad-query", "the period is invalid", errs...)
		return
	}
	category := chi.URLParam(r, "category")
	if category == "" {
		writeProblem(w, r, http.StatusNotFound, "not-found", "name a category")
		return
	}
	ids, err := g.Analytics.Bidders(r.Context(), category, from, to)
	if errors.Is(err, analytics.ErrInvalidPeriod) {
		writeProblem(w, r, http.StatusBadRequest, "bad-query", err.Error())
		return
	}
	if err != nil {
		g.internal(w, r, err)
		return
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"category": category, "bidders": ids})
}

package gateway_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/schemas"
)

// notificationJSON is one notification as the API answers it.
type notificationJSON struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	ItemID  string    `json:"itemId"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// decodeStrict decodes w's JSON body into v, refusing unknown fields.
func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: got %v, want nil", body, err)
	}
}

func TestMyNotifications(t *testing.T) {
	at := time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)
	n := func(item, user string, kind schemas.NotificationKind, at time.Time) notify.Notification {
		return notify.Notification{ID: notify.ID(item, user, kind), UserID: user, ItemID: item, Kind: kind,
			Message: string(kind) + " " + item, At: at, Email: user + "@mail.example"}
	}
	// Each inbox newest first, as an outbox answers.
	inbox := map[string][]notify.Notification{
		sellerID: {
			n("item-3", sellerID, schemas.NotifySold, at.Add(2*time.Hour)),
			n("item-2", sellerID, schemas.NotifyUnsold, at.Add(time.Hour)),
			n("item-1", sellerID, schemas.NotifyLost, at),
		},
		"u-bob": {
			n("item-3", "u-bob", schemas.NotifyWon, at.Add(2*time.Hour)),
		},
	}
	view := func(ns ...notify.Notification) []notificationJSON {
		out := []notificationJSON{}
		for _, n := range ns {
			out = append(out, notificationJSON{ID: n.ID, Kind: string(n.Kind), ItemID: n.ItemID, Message: n.Message, At: n.At})
		}
		return out
	}
	tests := []struct {
		name   string
		caller string
		want   []notificationJSON
	}{
		{name: "the seller's, newest first", caller: sellerID, want: view(inbox[sellerID]...)},
		{name: "another user sees only their own", caller: "u-bob", want: view(inbox["u-bob"]...)},
		{name: "a user without any", caller: "u-carol", want: []notificationJSON{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inbox.byUser = inbox
			tok, err := e.tokens.Issue(tt.caller, 0)
			if err != nil {
				t.Fatalf("Issue: got %v, want nil", err)
			}
			w := e.do(t, request{method: http.MethodGet, path: "/v1/me/notifications", auth: "Bearer " + tok})
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, http.StatusOK, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type: got %q, want application/json", ct)
			}
			var got struct {
				Notifications []notificationJSON `json:"notifications"`
			}
			decodeStrict(t, w.Body.Bytes(), &got)
			if got.Notifications == nil {
				t.Fatalf("notifications: got null (body %s), want a list", w.Body)
			}
			if !reflect.DeepEqual(got.Notifications, tt.want) {
				t.Fatalf("notifications: got %+v, want %+v", got.Notifications, tt.want)
			}
			if calls := e.inbox.Calls(); !slices.Equal(calls, []inboxCall{{user: tt.caller, limit: 50}}) {
				t.Fatalf("ForUser calls: got %+v, want one for %s with limit 50", calls, tt.caller)
			}
			// Nobody else's notifications, and no email address, ever.
			for user, ns := range inbox {
				if strings.Contains(w.Body.String(), user+"@mail.example") {
					t.Fatalf("body: got %s, want no email address", w.Body)
				}
				if user == tt.caller {
					continue
				}
				for _, n := range ns {
					if strings.Contains(w.Body.String(), n.ID) {
						t.Fatalf("body: got %s, want none of %s's notifications", w.Body, user)
					}
				}
			}
		})
	}
}

func TestMyNotificationsRefused(t *testing.T) {
	const secret = "dynamodb: 10.0.0.7 throttled"
	tests := []struct {
		name   string
		auth   bool
		err    error
		status int
		called bool
	}{
		{name: "without a token", status: http.StatusUnauthorized},
		{name: "store fails", auth: true, err: errors.New(secret), status: http.StatusInternalServerError, called: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.inbox.byUser = map[string][]notify.Notification{sellerID: {{ID: "item-1/" + sellerID + "/sold",
				UserID: sellerID, ItemID: "item-1", Kind: schemas.NotifySold, Message: "sold", At: time.Now()}}}
			e.inbox.err = tt.err
			rq := request{method: http.MethodGet, path: "/v1/me/notifications"}
			if tt.auth {
				rq.auth = "Bearer " + e.token(t)
			}
			w := e.do(t, rq)
			problem(t, w, tt.status)
			if tt.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("WWW-Authenticate: got none, want a challenge")
			}
			if called := len(e.inbox.Calls()) > 0; called != tt.called {
				t.Fatalf("inbox read: got %v, want %v", called, tt.called)
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") || strings.Contains(w.Body.String(), "item-1") {
				t.Fatalf("body: got %s, want neither the cause nor a notification", w.Body)
			}
			if tt.err != nil && !strings.Contains(e.logs.String(), "10.0.0.7") {
				t.Fatalf("log: got %q, want the cause logged", e.logs.String())
			}
		})
	}
}

// summaryJSON decodes a JSON body into a generic value, to compare answers
// exactly (absent fields included).
func summaryJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: got %v, want nil", b, err)
	}
	return m
}

func TestAnalyticsSummary(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	overall := analytics.Summary{Completed: 4, Sold: 3, Unsold: 1, SellThrough: 0.75, Bids: 10, BidsPerAuction: 2.5,
		UniqueBidders: 5, ByCurrency: map[string]analytics.CurrencyStats{
			"EUR": {Sold: 2, Volume: 7500, Average: 3750, Max: 5000},
			"GBP": {Sold: 1, Volume: 1200, Average: 1200, Max: 1200},
		}}
	bikes := analytics.Summary{Completed: 2, Sold: 1, Unsold: 1, SellThrough: 0.5, Bids: 3, BidsPerAuction: 1.5,
		UniqueBidders: 2, ByCurrency: map[string]analytics.CurrencyStats{"EUR": {Sold: 1, Volume: 2500, Average: 2500, Max: 2500}}}
	tests := []struct {
		name     string
		path     string
		category string
		from, to time.Time
		want     string // the answer, as JSON
	}{
		{name: "overall, unbounded", path: "/v1/analytics",
			want: `{"completed":4,"sold":3,"unsold":1,"sellThrough":0.75,"bids":10,"bidsPerAuction":2.5,"uniqueBidders":5,
				"byCurrency":{"EUR":{"sold":2,"volume":7500,"average":3750,"max":5000},"GBP":{"sold":1,"volume":1200,"average":1200,"max":1200}}}`},
		{name: "overall, a week", path: "/v1/analytics?from=2026-11-23&to=2026-11-30", from: day(23), to: day(30),
			want: `{"from":"2026-11-23T00:00:00Z","to":"2026-11-30T00:00:00Z","completed":4,"sold":3,"unsold":1,"sellThrough":0.75,
				"bids":10,"bidsPerAuction":2.5,"uniqueBidders":5,
				"byCurrency":{"EUR":{"sold":2,"volume":7500,"average":3750,"max":5000},"GBP":{"sold":1,"volume":1200,"average":1200,"max":1200}}}`},
		{name: "category", path: "/v1/analytics/categories/bikes", category: "bikes",
			want: `{"category":"bikes","completed":2,"sold":1,"unsold":1,"sellThrough":0.5,"bids":3,"bidsPerAuction":1.5,"uniqueBidders":2,
				"byCurrency":{"EUR":{"sold":1,"volume":2500,"average":2500,"max":2500}}}`},
		{name: "category, from only", path: "/v1/analytics/categories/bikes?from=2026-11-23", category: "bikes", from: day(23),
			want: `{"category":"bikes","from":"2026-11-23T00:00:00Z","completed":2,"sold":1,"unsold":1,"sellThrough":0.5,"bids":3,
				"bidsPerAuction":1.5,"uniqueBidders":2,"byCurrency":{"EUR":{"sold":1,"volume":2500,"average":2500,"max":2500}}}`},
		{name: "category, to only", path: "/v1/analytics/categories/bikes?to=2026-11-30", category: "bikes", to: day(30),
			want: `{"category":"bikes","to":"2026-11-30T00:00:00Z","completed":2,"sold":1,"unsold":1,"sellThrough":0.5,"bids":3,
				"bidsPerAuction":1.5,"uniqueBidders":2,"byCurrency":{"EUR":{"sold":1,"volume":2500,"average":2500,"max":2500}}}`},
		{name: "unknown category: zeroes", path: "/v1/analytics/categories/lamps?from=2026-11-23&to=2026-11-23",
			category: "lamps", from: day(23), to: day(23),
			want: `{"category":"lamps","from":"2026-11-23T00:00:00Z","to":"2026-11-23T00:00:00Z","completed":0,"sold":0,"unsold":0,
				"sellThrough":0,"bids":0,"bidsPerAuction":0,"uniqueBidders":0,"byCurrency":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.analytics.summaries = map[string]analytics.Summary{"": overall, "bikes": bikes}
			w := e.do(t, request{method: http.MethodGet, path: tt.path})
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, http.StatusOK, w.Body)
			}
			if got, want := summaryJSON(t, w.Body.Bytes()), summaryJSON(t, []byte(tt.want)); !reflect.DeepEqual(got, want) {
				t.Fatalf("body: got %s, want %s", w.Body, tt.want)
			}
			var s analytics.Summary
			decodeStrict(t, w.Body.Bytes(), &s)
			checkCalls(t, e.analytics.Calls(), analyticsCall{method: "Summary", category: tt.category, from: tt.from, to: tt.to})
		})
	}
}

// checkCalls checks that the store was asked exactly want, with the period's
// bounds at midnight UTC.
func checkCalls(t *testing.T, got []analyticsCall, want ...analyticsCall) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("store calls: got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.method != w.method || g.category != w.category || !g.from.Equal(w.from) || !g.to.Equal(w.to) {
			t.Fatalf("store call %d: got %+v, want %+v", i, g, w)
		}
		for _, b := range []time.Time{g.from, g.to} {
			if !b.IsZero() && b.Location() != time.UTC {
				t.Fatalf("store call %d: bound %s in %s, want UTC", i, b, b.Location())
			}
		}
	}
}

func TestAnalyticsBidders(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		bidders  map[string][]string
		from, to time.Time
		want     string
	}{
		{name: "some", path: "/v1/analytics/categories/cameras/bidders?from=2026-11-23&to=2026-11-30",
			bidders: map[string][]string{"cameras": {"u-ada", "u-bob"}, "bikes": {"u-eve"}},
			from:    time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
			want: `{"bidders":["u-ada","u-bob"],"category":"cameras"}`},
		{name: "none: an empty list", path: "/v1/analytics/categories/cameras/bidders",
			bidders: map[string][]string{"bikes": {"u-eve"}}, want: `{"bidders":[],"category":"cameras"}`},
		{name: "store answers an empty slice", path: "/v1/analytics/categories/cameras/bidders",
			bidders: map[string][]string{"cameras": {}}, want: `{"bidders":[],"category":"cameras"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.analytics.bidders = tt.bidders
			w := e.do(t, request{method: http.MethodGet, path: tt.path})
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, http.StatusOK, w.Body)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.want {
				t.Fatalf("body: got %s, want %s", got, tt.want)
			}
			checkCalls(t, e.analytics.Calls(), analyticsCall{method: "Bidders", category: "cameras", from: tt.from, to: tt.to})
		})
	}
}

// analyticsPaths are the analytics operations, each with the store method it
// reads and the category it asks for.
var analyticsPaths = []struct{ path, method, category string }{
	{"/v1/analytics", "Summary", ""},
	{"/v1/analytics/categories/bikes", "Summary", "bikes"},
	{"/v1/analytics/categories/bikes/bidders", "Bidders", "bikes"},
}

func TestAnalyticsPeriodRefused(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		errs   []schemas.FieldError // Field and Code; messages are only checked to be there
		called bool                 // the store was asked
		err    error                // what the store answers
	}{
		{name: "from not a date", query: "?from=yesterday", errs: []schemas.FieldError{{Field: "from", Code: "format"}}},
		{name: "to not a day", query: "?to=2026-02-30", errs: []schemas.FieldError{{Field: "to", Code: "format"}}},
		{name: "a time, not a date", query: "?from=2026-11-23T00:00:00Z", errs: []schemas.FieldError{{Field: "from", Code: "format"}}},
		{name: "both bad", query: "?from=23.11.2026&to=2026-1-30",
			errs: []schemas.FieldError{{Field: "from", Code: "format"}, {Field: "to", Code: "format"}}},
		{name: "to before from", query: "?from=2026-11-30&to=2026-11-29", errs: []schemas.FieldError{{Field: "to", Code: "range"}}},
		{name: "store refuses the period", query: "?from=2026-11-23",
			err: fmt.Errorf("from 2026-11-23 is odd: %w", analytics.ErrInvalidPeriod), called: true},
	}
	for _, p := range analyticsPaths {
		for _, tt := range tests {
			t.Run(p.path+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t)
				e.analytics.err = tt.err
				w := e.do(t, request{method: http.MethodGet, path: p.path + tt.query})
				pr := problem(t, w, http.StatusBadRequest)
				if pr.Type != "https://auctionflow.dev/problems/bad-query" {
					t.Fatalf("type: got %q, want bad-query", pr.Type)
				}
				if pr.Instance != p.path {
					t.Fatalf("instance: got %q, want %q", pr.Instance, p.path)
				}
				if len(pr.Errors) != len(tt.errs) {
					t.Fatalf("errors: got %+v, want %+v", pr.Errors, tt.errs)
				}
				for i, fe := range pr.Errors {
					if fe.Field != tt.errs[i].Field || fe.Code != tt.errs[i].Code || fe.Message == "" {
						t.Fatalf("error %d: got %+v, want field %q, code %q and a message", i, fe, tt.errs[i].Field, tt.errs[i].Code)
					}
				}
				if calls := e.analytics.Calls(); (len(calls) > 0) != tt.called {
					t.Fatalf("store calls: got %+v, want called %v", calls, tt.called)
				} else if tt.called {
					checkCalls(t, calls, analyticsCall{method: p.method, category: p.category,
						from: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
				}
			})
		}
	}
}

func TestAnalyticsStoreFailed(t *testing.T) {
	const secret = "dynamodb: dial tcp 10.0.0.7:8000: password=hunter2"
	for _, p := range analyticsPaths {
		t.Run(p.path, func(t *testing.T) {
			e := newEnv(t)
			e.analytics.err = fmt.Errorf("query: %w", errors.New(secret))
			w := e.do(t, request{method: http.MethodGet, path: p.path + "?from=2026-11-23"})
			pr := problem(t, w, http.StatusInternalServerError)
			if pr.Type != "https://auctionflow.dev/problems/internal" {
				t.Fatalf("type: got %q, want internal", pr.Type)
			}
			if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Fatalf("body: got %s, want the cause not leaked", w.Body)
			}
			if !strings.Contains(e.logs.String(), "hunter2") {
				t.Fatalf("log: got %q, want the cause logged", e.logs.String())
			}
			checkCalls(t, e.analytics.Calls(), analyticsCall{method: p.method, category: p.category,
				from: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
		})
	}
}

// TestAnalyticsIsPublic: the analytics answer without a token.
func TestAnalyticsIsPublic(t *testing.T) {
	e := newEnv(t)
	for _, p := range analyticsPaths {
		if w := e.do(t, request{method: http.MethodGet, path: p.path}); w.Code != http.StatusOK {
			t.Errorf("GET %s without a token: got %d, want %d (body %s)", p.path, w.Code, http.StatusOK, w.Body)
		}
	}
}

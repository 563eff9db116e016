package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
	"github.com/auctionflow/auction/services/live"
	"github.com/auctionflow/auction/streams/auction"
	"github.com/auctionflow/auction/streams/auction/auctiontest"
)

// TestRefusedAlikeAtTheEdgeAndByTheProcessor: a bid on an auction that has
// ended, and a seller's bid on their own item, get the same reason and the
// same HTTP status whether the edge function refuses them before they reach
// the log or the processor rejects them and the gateway answers its verdict
// (Prefer: wait). Both paths run the real placebid function behind the real
// gateway, over HTTP, and the processor's graph on goka's tester.
//
// On the edge path the function reads the item from the processor's table,
// as it does in production (a goka view). On the processor path it reads a
// view that knows only that the item exists, which lets the bid through:
// the processor is then the first to apply the rule, as it is for a bid
// from any producer that skips the edge's checks.
func TestRefusedAlikeAtTheEdgeAndByTheProcessor(t *testing.T) {
	endsAt := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	const bidderID = "u-bob"
	tests := []struct {
		name   string
		bidder string
		now    time.Time
		closed bool // the processor has closed the auction before the bid
		want   schemas.RejectReason
	}{
		{name: "placed at endsAt", bidder: bidderID, now: endsAt, want: schemas.ReasonTooLate},
		{name: "placed within the grace period", bidder: bidderID, now: endsAt.Add(time.Second), want: schemas.ReasonTooLate},
		{name: "placed after the close", bidder: bidderID, now: endsAt.Add(2 * time.Minute), closed: true, want: schemas.ReasonTooLate},
		{name: "the seller's own item", bidder: sellerID, now: endsAt.Add(-time.Hour), want: schemas.ReasonOwnItem},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startRulesProcessor(t, tc.now)
			item := schemas.ItemPlaced{
				ItemID: "item-rules", Seller: schemas.Party{ID: sellerID, Name: "Ada"},
				Title: "Lamp", Category: "lamps",
				StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"},
				MinIncrement:  schemas.Money{Amount: 10, Currency: "EUR"},
				EndsAt:        endsAt, PlacedAt: endsAt.Add(-24 * time.Hour),
			}
			p.consume(t, schemas.TopicItems, "evt-item", schemas.TypeItemPlaced, item)
			if tc.closed {
				p.consume(t, schemas.TopicBids, "evt-close", schemas.TypeCloseDue,
					schemas.CloseDue{ItemID: item.ItemID, EndsAt: endsAt, CloseAt: endsAt.Add(time.Minute)})
				if s := p.state(item.ItemID); s == nil || s.Status != auction.StatusClosed {
					t.Fatalf("got row %+v, want the auction closed", s)
				}
			}

			fromTable := placebid.ItemsFunc(func(_ context.Context, id string) (placebid.Item, bool, error) {
				s := p.state(id)
				if s == nil || s.Item == nil {
					return placebid.Item{}, false, nil
				}
				return placebid.Item{SellerID: s.Item.Seller.ID, Currency: s.Item.StartingPrice.Currency,
					EndsAt: s.Item.EndsAt, Closed: s.Status == auction.StatusClosed}, true, nil
			})
			blind := placebid.ItemsFunc(func(context.Context, string) (placebid.Item, bool, error) {
				return placebid.Item{Currency: "EUR", EndsAt: endsAt.Add(365 * 24 * time.Hour)}, true, nil
			})

			edgeStatus, edgeCode := p.bid(t, fromTable, tc.bidder, tc.now)
			procStatus, procCode := p.bid(t, blind, tc.bidder, tc.now)
			if edgeStatus != procStatus || edgeCode != procCode {
				t.Fatalf("got %d %s from the edge and %d %s from the processor, want the same answer",
					edgeStatus, edgeCode, procStatus, procCode)
			}
			if edgeStatus != http.StatusConflict || edgeCode != string(tc.want) {
				t.Fatalf("got %d %s, want %d %s", edgeStatus, edgeCode, http.StatusConflict, tc.want)
			}
			if n := p.decided(); n != 1 {
				t.Fatalf("got %d verdicts, want 1: the edge's refusal never reaches the processor", n)
			}
		})
	}
}

// rulesProcessor is the auction processor on goka's tester, with a gateway
// in front whose function writes into it and whose live tail reads its
// verdicts back.
type rulesProcessor struct {
	tt      *tester.Tester
	results *tester.QueueTracker
	tokens  *auth.Tokens
	dir     *userdir.Memory

	mu      sync.Mutex
	waiting map[string]chan live.Update
	verdict int
}

func startRulesProcessor(t *testing.T, now time.Time) *rulesProcessor {
	t.Helper()
	tt := tester.New(t)
	proc, err := auction.New(auction.Config{Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("new processor: %v", err)
	}
	auctiontest.Run(t, tt, proc)
	tokens, err := auth.NewTokens(auth.Config{Key: auth.GenerateKey(), Issuer: issuer, Audience: audience, TTL: tokenTTL}, nil)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	dir := userdir.NewMemory()
	for _, u := range []userdir.User{
		{ID: sellerID, Name: "Ada", Email: email},
		{ID: "u-bob", Name: "Bob", Email: "bob@example.com"},
	} {
		if err := dir.Create(context.Background(), u); err != nil {
			t.Fatalf("create user: %v", err)
		}
	}
	return &rulesProcessor{tt: tt, results: tt.NewQueueTracker(schemas.TopicBidResults), tokens: tokens, dir: dir,
		waiting: map[string]chan live.Update{}}
}

// consume hands the processor one event, as the log would.
func (p *rulesProcessor) consume(t *testing.T, topic, id, eventType string, data any) {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{ID: id, Source: schemas.Source + "/test", Subject: "item-rules",
		Time: time.Now()}, data)
	if err != nil {
		t.Fatalf("new %s: %v", eventType, err)
	}
	if err := p.write(topic, e); err != nil {
		t.Fatalf("write %s: %v", eventType, err)
	}
}

// write consumes e on topic, then passes on the verdict it caused, if any,
// to whoever waits for it.
func (p *rulesProcessor) write(topic string, e event.Event) error {
	m, err := cekafka.Encode(e)
	if err != nil {
		return err
	}
	hs := goka.Headers{}
	for _, h := range m.Headers {
		hs[h.Key] = h.Value
	}
	p.tt.Consume(topic, string(m.Key), m.Value, tester.WithHeaders(hs))
	for {
		hs, key, value, ok := p.results.NextRawWithHeaders()
		if !ok {
			return nil
		}
		var ch []cekafka.Header
		for k, v := range hs {
			ch = append(ch, cekafka.Header{Key: k, Value: v})
		}
		v, err := cekafka.Decode(cekafka.Message{Key: []byte(key), Value: value, Headers: ch})
		if err != nil {
			return fmt.Errorf("decode verdict: %w", err)
		}
		var u live.Update
		var bidID string
		switch v.Type() {
		case schemas.TypeBidAccepted:
			d, err := schemas.Data[schemas.BidAccepted](v, v.Type())
			if err != nil {
				return err
			}
			u.Accepted, bidID = &d, d.BidID
		case schemas.TypeBidRejected:
			d, err := schemas.Data[schemas.BidRejected](v, v.Type())
			if err != nil {
				return err
			}
			u.Rejected, bidID = &d, d.BidID
		}
		p.mu.Lock()
		p.verdict++
		if w := p.waiting[bidID]; w != nil {
			w <- u
		}
		p.mu.Unlock()
	}
}

func (p *rulesProcessor) state(itemID string) *auction.State {
	s, _ := p.tt.TableValue(goka.GroupTable(auction.Group), itemID).(*auction.State)
	return s
}

func (p *rulesProcessor) decided() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.verdict
}

// PublishEvents is the log behind the edge function: bids go to the
// processor, refusals (auction.rejected) nowhere.
func (p *rulesProcessor) PublishEvents(_ context.Context, topic string, events ...event.Event) error {
	if topic != schemas.TopicBids {
		return nil
	}
	for _, e := range events {
		if err := p.write(topic, e); err != nil {
			return err
		}
	}
	return nil
}

// Expect and Watch are the gateway's live tail.
func (p *rulesProcessor) Expect(bidID string) (<-chan live.Update, func()) {
	ch := make(chan live.Update, 1)
	p.mu.Lock()
	p.waiting[bidID] = ch
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.waiting, bidID)
		p.mu.Unlock()
	}
}

func (p *rulesProcessor) Watch(string) (<-chan live.Update, func()) { return nil, func() {} }

// bid places a bid of 5000 on the item over HTTP, as bidderID at now, with
// the validate-bid function reading items, and waits for the verdict. It
// returns the status and the code of the one error.
func (p *rulesProcessor) bid(t *testing.T, items placebid.Items, bidderID string, now time.Time) (int, string) {
	t.Helper()
	fn := faas.New(placebid.Init(placebid.Deps{Users: p.dir, Items: items, Publisher: p, Now: func() time.Time { return now }}),
		faas.Options{Name: "placebid"})
	h := gateway.New(gateway.Deps{Tokens: p.tokens, Users: p.dir, PlaceBid: fn, Live: p,
		Log: slog.New(slog.DiscardHandler)}).Routes()
	tok, err := p.tokens.Issue(bidderID, 0)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/items/item-rules/bids", strings.NewReader(`{"amount":5000}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set("Prefer", "wait=5")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var prob gateway.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &prob); err != nil || len(prob.Errors) != 1 {
		t.Fatalf("got %d %s, want a problem with one error", w.Code, w.Body)
	}
	if prob.Status != w.Code {
		t.Fatalf("got status %d in the body of a %d answer, want the same", prob.Status, w.Code)
	}
	return w.Code, prob.Errors[0].Code
}

// TestMinimumNext: a bid the processor refuses as too low is answered with
// the least the next bid may offer (minimumNext, machine-readable beside
// the detail), from the auction as the gateway sees it then: the starting
// price before any bid, the highest bid plus the increment after one, and
// nothing once the auction is no longer open or for another reason.
func TestMinimumNext(t *testing.T) {
	endsAt := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	item := &schemas.ItemPlaced{ItemID: "item-1", Seller: schemas.Party{ID: "u-sam", Name: "Sam"}, Title: "Lamp", Category: "lamps",
		StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"}, MinIncrement: schemas.Money{Amount: 50, Currency: "EUR"},
		EndsAt: endsAt, PlacedAt: endsAt.Add(-2 * time.Hour)}
	highest := &auction.Bid{BidID: "b-1", BidderID: "u-bob", Amount: schemas.Money{Amount: 6200, Currency: "EUR"}, PlacedAt: endsAt.Add(-time.Minute)}
	rejected := func(reason schemas.RejectReason) live.Update {
		return live.Update{Rejected: &schemas.BidRejected{BidID: "b-2", ItemID: "item-1", BidderID: sellerID,
			Amount: schemas.Money{Amount: 500, Currency: "EUR"}, Reason: reason, Detail: "too low", PlacedAt: endsAt, DecidedAt: endsAt}}
	}
	tests := []struct {
		name   string
		state  *auction.State
		reason schemas.RejectReason
		want   *schemas.Money
	}{
		{"no bid yet", &auction.State{Status: auction.StatusOpen, Item: item}, schemas.ReasonBelowStart,
			&schemas.Money{Amount: 1000, Currency: "EUR"}},
		{"a highest bid", &auction.State{Status: auction.StatusOpen, Item: item, Highest: highest, BidCount: 1}, schemas.ReasonBelowIncrement,
			&schemas.Money{Amount: 6250, Currency: "EUR"}},
		{"closed since", &auction.State{Status: auction.StatusClosed, Item: item, Highest: highest, BidCount: 1}, schemas.ReasonBelowIncrement, nil},
		{"another reason", &auction.State{Status: auction.StatusOpen, Item: item, Highest: highest, BidCount: 1}, schemas.ReasonCurrencyMismatch, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := specGateway(t, specDeps{states: map[string]*auction.State{"item-1": tt.state}, live: []live.Update{rejected(tt.reason)}})
			w := e.do(t, specRequest{method: http.MethodPost, path: "/v1/items/item-1/bids", body: `{"amount":500}`,
				auth: "Bearer " + e.token(t), prefer: "wait=5"})
			var p gateway.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusConflict {
				t.Fatalf("answer %d %s (%v), want a 409 problem", w.Code, w.Body, err)
			}
			if !reflect.DeepEqual(p.MinimumNext, tt.want) {
				t.Errorf("minimumNext %+v, want %+v", p.MinimumNext, tt.want)
			}
		})
	}
}

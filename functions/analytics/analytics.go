package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/auctionflow/auction/schemas"
)

// Errors a Store returns. Handle passes them on wrapped in a *FactError.
var (
	// ErrInvalidFact: the fact cannot be counted (no item id, no category,
	// a sale without a price, ...). Retrying does not help; an adapter
	// dead-letters the event.
	ErrInvalidFact = errors.New("invalid fact")
	// ErrConflict: a fact for the same item id was applied before with
	// another category or end time. An item's category and endsAt are fixed
	// when it is placed, so this is a bug upstream, not a redelivery; the
	// first fact stays counted and the second is refused.
	ErrConflict = errors.New("conflicting fact for the same item")
	// ErrInvalidPeriod: from is after to, or (for Summary) a bound is not
	// midnight UTC.
	ErrInvalidPeriod = errors.New("invalid period")
	// ErrCategoryRequired: Bidders needs a category (facts are stored per
	// category, see the package doc).
	ErrCategoryRequired = errors.New("category required")
)

// Fact is what analytics keeps of one completed auction: the part of
// schemas.ItemCompleted that the aggregates and ad hoc queries need.
// Build one with FactFrom.
type Fact struct {
	ItemID   string
	Category string
	SellerID string
	Sold     bool
	WinnerID string
	// Price is the hammer price when Sold, and the zero Money otherwise.
	Price      schemas.Money
	ReserveMet bool
	BidCount   int
	// Bidders are the distinct bidder ids; order does not matter.
	Bidders []string
	// EndsAt places the fact in time: its day bucket and the periods of
	// Summary and Bidders.
	EndsAt time.Time
	// ClosedAt is kept for ad hoc queries only. A redelivered event may
	// carry another ClosedAt (it is the processor's clock at closing), so
	// nothing is keyed or compared on it.
	ClosedAt time.Time
}

// FactFrom turns an item-complete event into a checked, normalized Fact. An
// unsold auction's price, if any, is dropped.
func FactFrom(ev schemas.ItemCompleted) (Fact, error) {
	f := Fact{
		ItemID:     ev.ItemID,
		Category:   ev.Category,
		SellerID:   ev.SellerID,
		Sold:       ev.Sold,
		WinnerID:   ev.WinnerID,
		ReserveMet: ev.ReserveMet,
		BidCount:   ev.BidCount,
		Bidders:    ev.Bidders,
		EndsAt:     ev.EndsAt,
		ClosedAt:   ev.ClosedAt,
	}
	if ev.Sold {
		if ev.Price == nil {
			return Fact{}, fmt.Errorf("item %s: sold without a price: %w", ev.ItemID, ErrInvalidFact)
		}
		f.Price = *ev.Price
	}
	if err := f.Validate(); err != nil {
		return Fact{}, err
	}
	return f.normalize(), nil
}

// Validate reports, wrapping ErrInvalidFact, why f cannot be counted.
func (f Fact) Validate() error {
	var problem string
	switch {
	case f.ItemID == "":
		problem = "no item id"
	case f.Category == "":
		problem = "no category"
	case f.EndsAt.IsZero():
		problem = "no end time"
	case f.EndsAt.UTC().Year() < 1 || f.EndsAt.UTC().Year() > 9999:
		// Keys hold the time as fixed-width text; a fifth year digit would
		// break their order.
		problem = fmt.Sprintf("end time %s out of range", f.EndsAt)
	case f.BidCount < 0:
		problem = fmt.Sprintf("negative bid count %d", f.BidCount)
	case f.Sold && f.Price.Currency == "":
		problem = "sold without a price currency"
	case f.Sold && f.Price.Amount < 0:
		problem = fmt.Sprintf("negative price %s", f.Price)
	case !f.Sold && f.Price != (schemas.Money{}):
		problem = fmt.Sprintf("unsold with a price %s", f.Price)
	case slices.Contains(f.Bidders, ""):
		problem = "empty bidder id"
	default:
		return nil
	}
	return fmt.Errorf("item %s: %s: %w", f.ItemID, problem, ErrInvalidFact)
}

// normalize returns f with its bidders sorted and distinct (a copy: the
// caller's slice is not touched) and its times in UTC.
func (f Fact) normalize() Fact {
	b := slices.Clone(f.Bidders)
	slices.Sort(b)
	f.Bidders = slices.Compact(b)
	f.EndsAt = f.EndsAt.UTC()
	f.ClosedAt = f.ClosedAt.UTC()
	return f
}

// Summary is the analytics of the auctions that ended in a period, overall
// or in one category. Ratios are 0 when nothing was completed.
type Summary struct {
	// Category is "" for all categories.
	Category string `json:"category,omitempty"`
	// From and To are the period's bounds as asked (UTC; zero: unbounded).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`

	Completed int64 `json:"completed"`
	Sold      int64 `json:"sold"`
	Unsold    int64 `json:"unsold"`
	// SellThrough is Sold / Completed.
	SellThrough float64 `json:"sellThrough"`
	// Bids is the sum of the auctions' bid counts.
	Bids int64 `json:"bids"`
	// BidsPerAuction is Bids / Completed.
	BidsPerAuction float64 `json:"bidsPerAuction"`
	// UniqueBidders counts the distinct bidder ids over all the auctions.
	UniqueBidders int64 `json:"uniqueBidders"`
	// ByCurrency holds the price statistics of the sold auctions, by ISO
	// 4217 code; never nil. Amounts of different currencies are never
	// added up.
	ByCurrency map[string]CurrencyStats `json:"byCurrency"`
}

// CurrencyStats are the prices of the auctions sold in one currency, in
// minor units.
type CurrencyStats struct {
	Sold int64 `json:"sold"`
	// Volume is the gross volume: the sum of the prices.
	Volume int64 `json:"volume"`
	// Average is Volume / Sold, not rounded.
	Average float64 `json:"average"`
	Max     int64   `json:"max"`
}

// Store keeps facts and their aggregates. Memory and Dynamo implement it.
type Store interface {
	// Apply counts fact once per item id: applying it again (a
	// redelivery), even concurrently, changes nothing. It returns
	// ErrInvalidFact for a fact that fails Validate and ErrConflict for one
	// whose item was applied with another category or end time.
	Apply(ctx context.Context, fact Fact) error
	// Summary aggregates the facts whose EndsAt falls on a UTC day in
	// [from, to), for one category or, with category "", for all. from
	// and to must be midnight UTC, or zero for no bound; otherwise, or if
	// from is after to, it returns ErrInvalidPeriod.
	Summary(ctx context.Context, category string, from, to time.Time) (Summary, error)
	// Bidders returns the distinct bidder ids, sorted, of the auctions in
	// category whose EndsAt is in [from, to): from inclusive, to exclusive,
	// to the nanosecond; zero means unbounded. category is required
	// (ErrCategoryRequired); from after to is ErrInvalidPeriod.
	Bidders(ctx context.Context, category string, from, to time.Time) ([]string, error)
}

// Deps are what the analytics function needs.
type Deps struct {
	Store Store
	// Now stamps the counted events (default time.Now).
	Now func() time.Time
	// Log defaults to discarding.
	Log *slog.Logger
}

// Analytics is the analytics function.
type Analytics struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
}

// New returns the analytics function over d.Store.
func New(d Deps) *Analytics {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Analytics{store: d.Store, now: now, log: log}
}

// FactError says which event of a batch failed. The events before Index were
// applied; applying them again is harmless, so a trigger may also retry the
// whole batch. errors.Is(err, ErrInvalidFact) marks an event that no retry
// can fix.
type FactError struct {
	Index  int
	ItemID string
	Err    error
}

func (e *FactError) Error() string {
	return fmt.Sprintf("analytics: event %d (item %s): %v", e.Index, e.ItemID, e.Err)
}

func (e *FactError) Unwrap() error { return e.Err }

// Handle applies a batch of item-complete events in order and stops at the
// first that fails, returning a *FactError.
func (a *Analytics) Handle(ctx context.Context, done []schemas.ItemCompleted) error {
	for i, ev := range done {
		f, err := FactFrom(ev)
		if err == nil {
			err = a.store.Apply(ctx, f)
		}
		if err != nil {
			return &FactError{Index: i, ItemID: ev.ItemID, Err: err}
		}
		a.log.DebugContext(ctx, "auction counted", "item", f.ItemID, "category", f.Category, "sold", f.Sold)
	}
	return nil
}

// checkSummaryPeriod enforces Summary's whole-day bounds.
func checkSummaryPeriod(from, to time.Time) error {
	for _, t := range []time.Time{from, to} {
		if !t.IsZero() && !t.Equal(startOfDay(t)) {
			return fmt.Errorf("%s is not midnight UTC; summaries are kept per UTC day: %w", t.Format(time.RFC3339Nano), ErrInvalidPeriod)
		}
	}
	return checkPeriod(from, to)
}

func checkPeriod(from, to time.Time) error {
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return fmt.Errorf("from %s is after to %s: %w", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), ErrInvalidPeriod)
	}
	return nil
}

// empty reports whether [from, to) holds no instant.
func empty(from, to time.Time) bool {
	return !from.IsZero() && !to.IsZero() && !from.Before(to)
}

func startOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// utc returns t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// tally accumulates aggregates; both stores derive their Summary from one.
type tally struct {
	completed, sold, bids int64
	bidders               map[string]struct{}
	cur                   map[string]*curTally
}

type curTally struct{ sold, volume, max int64 }

func newTally() *tally {
	return &tally{bidders: map[string]struct{}{}, cur: map[string]*curTally{}}
}

func (t *tally) currency(code string) *curTally {
	c := t.cur[code]
	if c == nil {
		c = &curTally{}
		t.cur[code] = c
	}
	return c
}

func (t *tally) add(f Fact) {
	t.completed++
	t.bids += int64(f.BidCount)
	for _, b := range f.Bidders {
		t.bidders[b] = struct{}{}
	}
	if f.Sold {
		t.sold++
		c := t.currency(f.Price.Currency)
		c.sold++
		c.volume += f.Price.Amount
		c.max = max(c.max, f.Price.Amount)
	}
}

func (t *tally) summary(category string, from, to time.Time) Summary {
	s := Summary{
		Category:      category,
		From:          utc(from),
		To:            utc(to),
		Completed:     t.completed,
		Sold:          t.sold,
		Unsold:        t.completed - t.sold,
		Bids:          t.bids,
		UniqueBidders: int64(len(t.bidders)),
		ByCurrency:    make(map[string]CurrencyStats, len(t.cur)),
	}
	if t.completed > 0 {
		s.SellThrough = float64(t.sold) / float64(t.completed)
		s.BidsPerAuction = float64(t.bids) / float64(t.completed)
	}
	for code, c := range t.cur {
		cs := CurrencyStats{Sold: c.sold, Volume: c.volume, Max: c.max}
		if c.sold > 0 {
			cs.Average = float64(c.volume) / float64(c.sold)
		}
		s.ByCurrency[code] = cs
	}
	return s
}

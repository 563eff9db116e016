package analytics_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/schemas"
)

// The property: however facts are delivered — in any order, any number of
// times, concurrently — a store answers as if each distinct fact had been
// applied once. The reference below computes the answers directly from the
// distinct facts, sharing no code with the stores.

var (
	propCategories = []string{"books", "games", "art"}
	propCurrencies = []string{"EUR", "GBP", "USD"}
	propStart      = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	propDays       = 6
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// randomFact returns a valid fact with item id id.
func randomFact(r *rand.Rand, id string) analytics.Fact {
	// Whole seconds, with some on the very edges of a UTC day.
	endsAt := propStart.Add(time.Duration(r.IntN(propDays*24*3600)) * time.Second)
	switch r.IntN(10) {
	case 0:
		endsAt = endsAt.Truncate(24 * time.Hour)
	case 1:
		endsAt = endsAt.Truncate(24 * time.Hour).Add(-time.Nanosecond)
	case 2:
		// The same instant, told in another zone, whose date may differ.
		endsAt = endsAt.In(time.FixedZone("UTC+5", 5*60*60))
	}
	var bidders []string
	for range r.IntN(5) {
		bidders = append(bidders, fmt.Sprintf("u%d", r.IntN(12)))
	}
	f := analytics.Fact{
		ItemID: id, Category: propCategories[r.IntN(len(propCategories))], SellerID: "s" + id,
		BidCount: len(bidders) + r.IntN(3), Bidders: bidders,
		EndsAt: endsAt, ClosedAt: endsAt.Add(time.Second),
	}
	if len(bidders) > 0 && r.IntN(3) > 0 {
		f.Sold, f.ReserveMet, f.WinnerID = true, true, bidders[0]
		f.Price = schemas.Money{Amount: int64(r.IntN(100000)), Currency: propCurrencies[r.IntN(len(propCurrencies))]}
	}
	return f
}

// randomDeliveries returns n distinct facts and a shuffled delivery
// sequence holding each one to three times, redeliveries with their bidders
// reordered and another closing time, as a processor that closed again
// would send them.
func randomDeliveries(r *rand.Rand, n int) (facts, deliveries []analytics.Fact) {
	for i := range n {
		f := randomFact(r, fmt.Sprintf("item-%03d", i))
		facts = append(facts, f)
		for copy := range 1 + r.IntN(3) {
			d := f
			d.Bidders = slices.Clone(f.Bidders)
			if copy > 0 {
				r.Shuffle(len(d.Bidders), func(i, j int) { d.Bidders[i], d.Bidders[j] = d.Bidders[j], d.Bidders[i] })
				d.ClosedAt = d.ClosedAt.Add(time.Duration(copy) * time.Minute)
			}
			deliveries = append(deliveries, d)
		}
	}
	r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	return facts, deliveries
}

// applyConcurrently applies deliveries from workers goroutines, each taking
// the next undelivered one.
func applyConcurrently(t *testing.T, st analytics.Store, deliveries []analytics.Fact, workers int) {
	t.Helper()
	next := make(chan analytics.Fact)
	errs := make(chan error, len(deliveries))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for f := range next {
				if err := st.Apply(t.Context(), f); err != nil {
					errs <- fmt.Errorf("Apply(%s): %w", f.ItemID, err)
				}
			}
		})
	}
	for _, f := range deliveries {
		next <- f
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// reference computes a summary from distinct facts.
func reference(facts []analytics.Fact, category string, from, to time.Time) analytics.Summary {
	s := analytics.Summary{Category: category, From: from, To: to, ByCurrency: map[string]analytics.CurrencyStats{}}
	bidders := map[string]bool{}
	for _, f := range facts {
		day := f.EndsAt.UTC().Truncate(24 * time.Hour)
		if category != "" && f.Category != category ||
			!from.IsZero() && day.Before(from) || !to.IsZero() && !day.Before(to) {
			continue
		}
		s.Completed++
		s.Bids += int64(f.BidCount)
		for _, b := range f.Bidders {
			bidders[b] = true
		}
		if !f.Sold {
			s.Unsold++
			continue
		}
		s.Sold++
		c := s.ByCurrency[f.Price.Currency]
		c.Sold++
		c.Volume += f.Price.Amount
		c.Max = max(c.Max, f.Price.Amount)
		s.ByCurrency[f.Price.Currency] = c
	}
	s.UniqueBidders = int64(len(bidders))
	if s.Completed > 0 {
		s.SellThrough = float64(s.Sold) / float64(s.Completed)
		s.BidsPerAuction = float64(s.Bids) / float64(s.Completed)
	}
	for code, c := range s.ByCurrency {
		c.Average = float64(c.Volume) / float64(c.Sold)
		s.ByCurrency[code] = c
	}
	return s
}

// referenceBidders computes Bidders from distinct facts.
func referenceBidders(facts []analytics.Fact, category string, from, to time.Time) []string {
	seen := map[string]bool{}
	for _, f := range facts {
		if f.Category == category && (from.IsZero() || !f.EndsAt.Before(from)) && (to.IsZero() || f.EndsAt.Before(to)) {
			for _, b := range f.Bidders {
				seen[b] = true
			}
		}
	}
	out := []string{}
	for b := range seen {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

// randomDay returns a day bound around the facts' days, or zero (unbounded).
func randomDay(r *rand.Rand) time.Time {
	if r.IntN(4) == 0 {
		return time.Time{}
	}
	return propStart.AddDate(0, 0, r.IntN(propDays+2)-1)
}

// randomInstant returns an instant bound around the facts, or zero.
func randomInstant(r *rand.Rand) time.Time {
	if r.IntN(4) == 0 {
		return time.Time{}
	}
	return propStart.Add(time.Duration(r.Int64N(int64(propDays+1) * int64(24*time.Hour))))
}

// checkAgainstReference compares st's answers, overall, per category and for
// random periods, with the reference over facts.
func checkAgainstReference(t *testing.T, st analytics.Store, facts []analytics.Fact, r *rand.Rand) {
	t.Helper()
	ctx := t.Context()
	for _, category := range append([]string{"", "toys"}, propCategories...) {
		periods := [][2]time.Time{{}}
		for range 5 {
			from, to := randomDay(r), randomDay(r)
			if !from.IsZero() && !to.IsZero() && from.After(to) {
				from, to = to, from
			}
			periods = append(periods, [2]time.Time{from, to})
		}
		for _, p := range periods {
			got, err := st.Summary(ctx, category, p[0], p[1])
			if err != nil {
				t.Fatalf("Summary(%q, %v): %v", category, p, err)
			}
			if want := reference(facts, category, p[0], p[1]); !equalSummary(got, want) {
				t.Errorf("Summary(%q, %v):\ngot  %+v\nwant %+v", category, p, got, want)
			}
		}
		if category == "" {
			continue
		}
		for range 5 {
			from, to := randomInstant(r), randomInstant(r)
			if !from.IsZero() && !to.IsZero() && from.After(to) {
				from, to = to, from
			}
			got, err := st.Bidders(ctx, category, from, to)
			if err != nil {
				t.Fatalf("Bidders(%q, %s, %s): %v", category, from, to, err)
			}
			if want := referenceBidders(facts, category, from, to); !slices.Equal(got, want) {
				t.Errorf("Bidders(%q, %s, %s): got %q, want %q", category, from, to, got, want)
			}
		}
	}
}

// TestMemoryProperty checks the property on Memory for many seeds, applying
// the deliveries one by one and from several goroutines.
func TestMemoryProperty(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r := newRand(seed)
			facts, deliveries := randomDeliveries(r, r.IntN(40))
			workers := 1 + int(seed%4)
			st := analytics.NewMemory()
			applyConcurrently(t, st, deliveries, workers)
			checkAgainstReference(t, st, facts, r)
		})
	}
}

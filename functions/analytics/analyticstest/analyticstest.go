// Package analyticstest is the contract every analytics.Store keeps, written
// once and run against each implementation: Memory, which the embedded mode
// and unit tests use, and Dynamo on dynalite or DynamoDB. The expectations are
// computed by hand from a small fixture, so a store that agrees with itself
// but not with arithmetic fails here too.
package analyticstest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/schemas"
)

// RunStoreContract runs the contract as subtests of t. newStore returns an
// empty Store for one subtest; the subtests run in parallel, so stores must
// not share data (for DynamoDB: one table each).
func RunStoreContract(t *testing.T, newStore func(t *testing.T) analytics.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, st analytics.Store)
	}{
		{"Summaries", testSummaries},
		{"Redelivery", testRedelivery},
		{"ConcurrentSameFact", testConcurrentSameFact},
		{"ConcurrentDistinctFacts", testConcurrentDistinctFacts},
		{"DayRanges", testDayRanges},
		{"InvalidPeriods", testInvalidPeriods},
		{"Bidders", testBidders},
		{"InvalidFact", testInvalidFact},
		{"Conflict", testConflict},
		{"Empty", testEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// Days of the fixture, as UTC midnights.
var (
	day14 = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	day15 = time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)
	day16 = time.Date(2025, 3, 16, 0, 0, 0, 0, time.UTC)
	day17 = time.Date(2025, 3, 17, 0, 0, 0, 0, time.UTC)
	day18 = time.Date(2025, 3, 18, 0, 0, 0, 0, time.UTC)
)

func eur(a int64) schemas.Money { return schemas.Money{Amount: a, Currency: "EUR"} }
func gbp(a int64) schemas.Money { return schemas.Money{Amount: a, Currency: "GBP"} }

func sold(id, category string, endsAt time.Time, price schemas.Money, bids int, bidders ...string) analytics.Fact {
	return analytics.Fact{
		ItemID: id, Category: category, SellerID: "seller-" + id, Sold: true, WinnerID: bidders[len(bidders)-1],
		Price: price, ReserveMet: true, BidCount: bids, Bidders: bidders,
		EndsAt: endsAt, ClosedAt: endsAt.Add(10 * time.Second),
	}
}

func unsold(id, category string, endsAt time.Time, bids int, bidders ...string) analytics.Fact {
	return analytics.Fact{
		ItemID: id, Category: category, SellerID: "seller-" + id, BidCount: bids, Bidders: bidders,
		EndsAt: endsAt, ClosedAt: endsAt.Add(10 * time.Second),
	}
}

// Fixture returns the facts the contract's expectations are computed from:
// three categories, two currencies, sold and unsold auctions, bidders who bid
// in several auctions, four days, an auction at the last nanosecond of a day,
// one at midnight, one that ends at a whole second and one half a second
// later (whose keys sort wrongly if the time is written without its zeros),
// and one whose end time is given in another zone, across midnight from UTC.
func Fixture() []analytics.Fact {
	plus2 := time.FixedZone("UTC+2", 2*60*60)
	return []analytics.Fact{
		sold("i1", "books", day14.Add(10*time.Hour), eur(1500), 3, "alice", "bob"),
		unsold("i2", "books", day14.Add(18*time.Hour), 2, "bob", "carol"),
		sold("i3", "games", day14.Add(12*time.Hour), gbp(2000), 1, "dave"),
		sold("i4", "games", day15.Add(9*time.Hour), eur(500), 4, "erin", "alice"),
		// Unsorted with a repeat: a store keeps distinct bidders.
		sold("i5", "books", day16.Add(-time.Nanosecond), eur(2500), 5, "frank", "carol", "alice", "carol"),
		unsold("i6", "art", day17, 0),
		sold("i7", "art", day17.Add(15*time.Hour), gbp(10000), 2, "gina", "bob"),
		// 01:00 at UTC+2 on the 16th is 23:00 UTC on the 15th.
		sold("i8", "games", time.Date(2025, 3, 16, 1, 0, 0, 0, plus2), gbp(300), 1, "dave"),
		sold("i9", "art", day17.Add(15*time.Hour+500*time.Millisecond), gbp(700), 1, "hal"),
	}
}

// Expected summaries of Fixture, computed by hand.
var (
	wantOverall = analytics.Summary{
		// i1..i9; unsold: i2, i6.
		Completed: 9, Sold: 7, Unsold: 2, SellThrough: 7.0 / 9,
		Bids: 3 + 2 + 1 + 4 + 5 + 0 + 2 + 1 + 1, BidsPerAuction: 19.0 / 9,
		// alice bob carol dave erin frank gina hal
		UniqueBidders: 8,
		ByCurrency: map[string]analytics.CurrencyStats{
			"EUR": {Sold: 3, Volume: 1500 + 500 + 2500, Average: 4500.0 / 3, Max: 2500},
			"GBP": {Sold: 4, Volume: 2000 + 10000 + 300 + 700, Average: 13000.0 / 4, Max: 10000},
		},
	}
	wantBooks = analytics.Summary{
		// i1, i2, i5
		Category:  "books",
		Completed: 3, Sold: 2, Unsold: 1, SellThrough: 2.0 / 3,
		Bids: 3 + 2 + 5, BidsPerAuction: 10.0 / 3,
		UniqueBidders: 4, // alice bob carol frank
		ByCurrency: map[string]analytics.CurrencyStats{
			"EUR": {Sold: 2, Volume: 4000, Average: 2000, Max: 2500},
		},
	}
	wantGames = analytics.Summary{
		// i3, i4, i8
		Category:  "games",
		Completed: 3, Sold: 3, Unsold: 0, SellThrough: 1,
		Bids: 1 + 4 + 1, BidsPerAuction: 2,
		UniqueBidders: 3, // alice dave erin
		ByCurrency: map[string]analytics.CurrencyStats{
			"EUR": {Sold: 1, Volume: 500, Average: 500, Max: 500},
			"GBP": {Sold: 2, Volume: 2300, Average: 1150, Max: 2000},
		},
	}
	wantArt = analytics.Summary{
		// i6, i7, i9
		Category:  "art",
		Completed: 3, Sold: 2, Unsold: 1, SellThrough: 2.0 / 3,
		Bids: 0 + 2 + 1, BidsPerAuction: 1,
		UniqueBidders: 3, // bob gina hal
		ByCurrency: map[string]analytics.CurrencyStats{
			"GBP": {Sold: 2, Volume: 10700, Average: 5350, Max: 10000},
		},
	}
)

func applyAll(t *testing.T, st analytics.Store, facts []analytics.Fact) {
	t.Helper()
	for _, f := range facts {
		if err := st.Apply(t.Context(), f); err != nil {
			t.Fatalf("Apply(%s): %v", f.ItemID, err)
		}
	}
}

// CheckSummary compares st's summary for category and period with want, whose
// Category and bounds it fills in (a nil ByCurrency means an empty one).
func CheckSummary(t *testing.T, st analytics.Store, category string, from, to time.Time, want analytics.Summary) {
	t.Helper()
	got, err := st.Summary(t.Context(), category, from, to)
	if err != nil {
		t.Errorf("Summary(%q, %s): %v", category, period(from, to), err)
		return
	}
	if !got.From.Equal(from) || !got.To.Equal(to) {
		t.Errorf("Summary(%q, %s): got period %s", category, period(from, to), period(got.From, got.To))
	}
	// The bounds are compared as instants above; DeepEqual would also
	// compare their locations.
	got.From, got.To = time.Time{}, time.Time{}
	want.Category = category
	if want.ByCurrency == nil {
		want.ByCurrency = map[string]analytics.CurrencyStats{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summary(%q, %s):\ngot  %+v\nwant %+v", category, period(from, to), got, want)
	}
}

func period(from, to time.Time) string {
	f, u := "-∞", "+∞"
	if !from.IsZero() {
		f = from.Format(time.RFC3339Nano)
	}
	if !to.IsZero() {
		u = to.Format(time.RFC3339Nano)
	}
	return "[" + f + ", " + u + ")"
}

// checkFixture compares every summary of the whole fixture.
func checkFixture(t *testing.T, st analytics.Store) {
	t.Helper()
	for _, c := range []struct {
		category string
		want     analytics.Summary
	}{
		{"", wantOverall},
		{"books", wantBooks},
		{"games", wantGames},
		{"art", wantArt},
		{"toys", analytics.Summary{}},
	} {
		CheckSummary(t, st, c.category, time.Time{}, time.Time{}, c.want)
	}
}

func testSummaries(t *testing.T, st analytics.Store) {
	applyAll(t, st, Fixture())
	checkFixture(t, st)
}

// testRedelivery: every fact again, in another order, changes nothing.
func testRedelivery(t *testing.T, st analytics.Store) {
	facts := Fixture()
	applyAll(t, st, facts)
	slices.Reverse(facts)
	applyAll(t, st, facts)
	// A redelivered event is stamped with another closing time by a
	// processor that closed the auction again; it is still the same fact.
	again := facts[0]
	again.ClosedAt = again.ClosedAt.Add(time.Minute)
	applyAll(t, st, []analytics.Fact{again})
	checkFixture(t, st)
}

// testConcurrentSameFact: ten deliveries of one fact at once count it once,
// and none of them fails.
func testConcurrentSameFact(t *testing.T, st analytics.Store) {
	f := sold("i1", "books", day14.Add(10*time.Hour), eur(1500), 3, "alice", "bob")
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = st.Apply(t.Context(), f) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Apply #%d: %v", i, err)
		}
	}
	want := analytics.Summary{
		Completed: 1, Sold: 1, SellThrough: 1, Bids: 3, BidsPerAuction: 3, UniqueBidders: 2,
		ByCurrency: map[string]analytics.CurrencyStats{"EUR": {Sold: 1, Volume: 1500, Average: 1500, Max: 1500}},
	}
	CheckSummary(t, st, "", time.Time{}, time.Time{}, want)
	CheckSummary(t, st, "books", time.Time{}, time.Time{}, want)
}

// testConcurrentDistinctFacts: concurrent updates of one day bucket lose
// nothing.
func testConcurrentDistinctFacts(t *testing.T, st analytics.Store) {
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		f := sold(fmt.Sprintf("c%02d", i), "books", day14.Add(time.Duration(i)*time.Minute), eur(int64(100*(i+1))), 1, fmt.Sprintf("b%02d", i%7))
		wg.Go(func() { errs[i] = st.Apply(t.Context(), f) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Apply c%02d: %v", i, err)
		}
	}
	// Prices 100, 200, ..., 2000.
	want := analytics.Summary{
		Completed: n, Sold: n, SellThrough: 1, Bids: n, BidsPerAuction: 1, UniqueBidders: 7,
		ByCurrency: map[string]analytics.CurrencyStats{"EUR": {Sold: n, Volume: 21000, Average: 1050, Max: 2000}},
	}
	CheckSummary(t, st, "books", time.Time{}, time.Time{}, want)
}

// testDayRanges: Summary counts the days in [from, to).
func testDayRanges(t *testing.T, st analytics.Store) {
	applyAll(t, st, Fixture())
	tests := []struct {
		name     string
		category string
		from, to time.Time
		want     analytics.Summary
	}{
		{
			// i4, i5, i8: the 15th (i8 by its UTC day), and i5 at its
			// last nanosecond.
			name: "15th only", from: day15, to: day16,
			want: analytics.Summary{
				Completed: 3, Sold: 3, SellThrough: 1, Bids: 4 + 5 + 1, BidsPerAuction: 10.0 / 3,
				UniqueBidders: 5, // alice erin carol frank dave
				ByCurrency: map[string]analytics.CurrencyStats{
					"EUR": {Sold: 2, Volume: 3000, Average: 1500, Max: 2500},
					"GBP": {Sold: 1, Volume: 300, Average: 300, Max: 300},
				},
			},
		},
		{
			// i1, i2, i3
			name: "before the 15th", to: day15,
			want: analytics.Summary{
				Completed: 3, Sold: 2, Unsold: 1, SellThrough: 2.0 / 3, Bids: 6, BidsPerAuction: 2,
				UniqueBidders: 4, // alice bob carol dave
				ByCurrency: map[string]analytics.CurrencyStats{
					"EUR": {Sold: 1, Volume: 1500, Average: 1500, Max: 1500},
					"GBP": {Sold: 1, Volume: 2000, Average: 2000, Max: 2000},
				},
			},
		},
		{
			// i6 (at midnight), i7, i9
			name: "from the 17th", from: day17,
			want: analytics.Summary{
				Completed: 3, Sold: 2, Unsold: 1, SellThrough: 2.0 / 3, Bids: 3, BidsPerAuction: 1,
				UniqueBidders: 3,
				ByCurrency: map[string]analytics.CurrencyStats{
					"GBP": {Sold: 2, Volume: 10700, Average: 5350, Max: 10000},
				},
			},
		},
		{
			name: "the 16th has nothing", from: day16, to: day17,
		},
		{
			name: "empty period", from: day15, to: day15,
		},
		{
			name: "whole fixture", from: day14, to: day18, want: wantOverall,
		},
		{
			// i5
			name: "books from the 15th", category: "books", from: day15, to: day18,
			want: analytics.Summary{
				Completed: 1, Sold: 1, SellThrough: 1, Bids: 5, BidsPerAuction: 5, UniqueBidders: 3,
				ByCurrency: map[string]analytics.CurrencyStats{"EUR": {Sold: 1, Volume: 2500, Average: 2500, Max: 2500}},
			},
		},
		{
			// i3
			name: "games on the 14th", category: "games", from: day14, to: day15,
			want: analytics.Summary{
				Completed: 1, Sold: 1, SellThrough: 1, Bids: 1, BidsPerAuction: 1, UniqueBidders: 1,
				ByCurrency: map[string]analytics.CurrencyStats{"GBP": {Sold: 1, Volume: 2000, Average: 2000, Max: 2000}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			CheckSummary(t, st, tt.category, tt.from, tt.to, tt.want)
		})
	}
}

func testInvalidPeriods(t *testing.T, st analytics.Store) {
	applyAll(t, st, Fixture())
	ctx := t.Context()
	tests := []struct {
		name     string
		from, to time.Time
	}{
		{"from not midnight", day14.Add(time.Hour), day16},
		{"to not midnight", day14, day16.Add(time.Nanosecond)},
		{"midnight elsewhere", time.Date(2025, 3, 15, 0, 0, 0, 0, time.FixedZone("UTC+2", 2*60*60)), time.Time{}},
		{"from after to", day16, day14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.Summary(ctx, "", tt.from, tt.to); !errors.Is(err, analytics.ErrInvalidPeriod) {
				t.Errorf("Summary(%s): got %v, want %v", period(tt.from, tt.to), err, analytics.ErrInvalidPeriod)
			}
		})
	}
	if _, err := st.Bidders(ctx, "books", day16, day14); !errors.Is(err, analytics.ErrInvalidPeriod) {
		t.Errorf("Bidders from after to: got %v, want %v", err, analytics.ErrInvalidPeriod)
	}
	if _, err := st.Bidders(ctx, "", time.Time{}, time.Time{}); !errors.Is(err, analytics.ErrCategoryRequired) {
		t.Errorf("Bidders without a category: got %v, want %v", err, analytics.ErrCategoryRequired)
	}
}

// testBidders: the distinct bidders of the auctions ending in [from, to),
// to the nanosecond.
func testBidders(t *testing.T, st analytics.Store) {
	applyAll(t, st, Fixture())
	at := func(day time.Time, d time.Duration) time.Time { return day.Add(d) }
	tests := []struct {
		name     string
		category string
		from, to time.Time
		want     []string
	}{
		{"all of books", "books", time.Time{}, time.Time{}, []string{"alice", "bob", "carol", "frank"}},
		// i1 ends exactly at from (in), i5 exactly at to (out).
		{"from inclusive, to exclusive", "books", at(day14, 10*time.Hour), at(day16, -time.Nanosecond), []string{"alice", "bob", "carol"}},
		// One nanosecond later, i1 is out and i5 in.
		{"a nanosecond later", "books", at(day14, 10*time.Hour+time.Nanosecond), day16, []string{"alice", "bob", "carol", "frank"}},
		{"until i2", "books", time.Time{}, at(day14, 18*time.Hour), []string{"alice", "bob"}},
		{"from i2", "books", at(day14, 18*time.Hour), time.Time{}, []string{"alice", "bob", "carol", "frank"}},
		// i7 ends at 15:00:00 and i9 half a second later: keys with the
		// time written in short form would sort i9 before i7.
		{"i7 but not i9", "art", at(day17, 15*time.Hour), at(day17, 15*time.Hour+500*time.Millisecond), []string{"bob", "gina"}},
		{"i9 but not i7", "art", at(day17, 15*time.Hour+time.Nanosecond), time.Time{}, []string{"hal"}},
		{"no bidders at i6", "art", day17, at(day17, time.Hour), []string{}},
		// i8 ends at 23:00 UTC on the 15th, given in UTC+2.
		{"by instant, not zone", "games", at(day15, 22*time.Hour), day16, []string{"dave"}},
		{"empty period", "books", day14, day14, []string{}},
		{"unknown category", "toys", time.Time{}, time.Time{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Bidders(t.Context(), tt.category, tt.from, tt.to)
			if err != nil {
				t.Fatalf("Bidders(%q, %s): %v", tt.category, period(tt.from, tt.to), err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Bidders(%q, %s): got %q, want %q", tt.category, period(tt.from, tt.to), got, tt.want)
			}
		})
	}
}

// testInvalidFact: a fact that cannot be counted is refused and leaves no
// trace.
func testInvalidFact(t *testing.T, st analytics.Store) {
	good := sold("i1", "books", day14.Add(time.Hour), eur(100), 1, "alice")
	tests := []struct {
		name   string
		change func(f *analytics.Fact)
	}{
		{"no item id", func(f *analytics.Fact) { f.ItemID = "" }},
		{"no category", func(f *analytics.Fact) { f.Category = "" }},
		{"no end time", func(f *analytics.Fact) { f.EndsAt = time.Time{} }},
		{"negative bid count", func(f *analytics.Fact) { f.BidCount = -1 }},
		{"sold without currency", func(f *analytics.Fact) { f.Price.Currency = "" }},
		{"negative price", func(f *analytics.Fact) { f.Price.Amount = -1 }},
		{"unsold with a price", func(f *analytics.Fact) { f.Sold = false }},
		{"empty bidder", func(f *analytics.Fact) { f.Bidders = []string{"alice", ""} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good
			f.Bidders = slices.Clone(good.Bidders)
			tt.change(&f)
			if err := st.Apply(t.Context(), f); !errors.Is(err, analytics.ErrInvalidFact) {
				t.Errorf("Apply: got %v, want %v", err, analytics.ErrInvalidFact)
			}
		})
	}
	CheckSummary(t, st, "", time.Time{}, time.Time{}, analytics.Summary{})
}

// testConflict: an item applied again with another category or end time is
// refused, and only the first is counted.
func testConflict(t *testing.T, st analytics.Store) {
	first := sold("i1", "books", day14.Add(time.Hour), eur(100), 1, "alice")
	applyAll(t, st, []analytics.Fact{first})
	otherCategory := first
	otherCategory.Category = "games"
	otherDay := first
	otherDay.EndsAt = day15.Add(time.Hour)
	for _, f := range []analytics.Fact{otherCategory, otherDay} {
		if err := st.Apply(t.Context(), f); !errors.Is(err, analytics.ErrConflict) {
			t.Errorf("Apply(%s in %s ending %s): got %v, want %v", f.ItemID, f.Category, f.EndsAt, err, analytics.ErrConflict)
		}
	}
	want := analytics.Summary{
		Completed: 1, Sold: 1, SellThrough: 1, Bids: 1, BidsPerAuction: 1, UniqueBidders: 1,
		ByCurrency: map[string]analytics.CurrencyStats{"EUR": {Sold: 1, Volume: 100, Average: 100, Max: 100}},
	}
	CheckSummary(t, st, "", time.Time{}, time.Time{}, want)
	CheckSummary(t, st, "books", time.Time{}, time.Time{}, want)
	CheckSummary(t, st, "games", time.Time{}, time.Time{}, analytics.Summary{})
	// The same instant in another zone is the same end time.
	sameInstant := first
	sameInstant.EndsAt = first.EndsAt.In(time.FixedZone("UTC-5", -5*60*60))
	if err := st.Apply(t.Context(), sameInstant); err != nil {
		t.Errorf("Apply with endsAt in another zone: got %v, want nil", err)
	}
	CheckSummary(t, st, "", time.Time{}, time.Time{}, want)
}

// testEmpty: an empty store answers with zeros and an empty, non-nil
// currency map, so a JSON client sees {} rather than null.
func testEmpty(t *testing.T, st analytics.Store) {
	CheckSummary(t, st, "", time.Time{}, time.Time{}, analytics.Summary{})
	got, err := st.Summary(t.Context(), "", day14, day15)
	if err != nil {
		t.Fatal(err)
	}
	if got.ByCurrency == nil {
		t.Errorf("ByCurrency of an empty summary: got nil, want an empty map")
	}
	bidders, err := st.Bidders(t.Context(), "books", time.Time{}, time.Time{})
	if err != nil || len(bidders) != 0 {
		t.Errorf("Bidders of an empty store: got %q, %v; want none", bidders, err)
	}
}

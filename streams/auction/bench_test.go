package auction_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// benchState is an open auction that has decided prior bids, each one
// accepted (so the state also holds a highest bid and bidders).
func benchState(b *testing.B, prior int) (auction.State, time.Time) {
	b.Helper()
	t0 := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	item := schemas.ItemPlaced{
		ItemID: "item-1", Seller: schemas.Party{ID: "seller", Name: "Ada"}, Title: "Camera", Category: "cameras",
		StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"}, MinIncrement: schemas.Money{Amount: 10, Currency: "EUR"},
		EndsAt: t0.Add(time.Hour), PlacedAt: t0,
	}
	s, _ := auction.Decide(auction.State{}, auction.Input{EventID: "item", Item: &item}, t0)
	for i := range prior {
		s, _ = auction.Decide(s, auction.Input{EventID: fmt.Sprint("b", i), Bid: benchBid(i, t0)}, t0)
	}
	if s.BidCount != prior {
		b.Fatalf("got %d accepted prior bids, want %d", s.BidCount, prior)
	}
	return s, t0
}

func benchBid(i int, t0 time.Time) *schemas.BidPlaced {
	return &schemas.BidPlaced{
		BidID: fmt.Sprintf("bid-%07d", i), ItemID: "item-1",
		Bidder: schemas.Party{ID: fmt.Sprintf("u-%d", i%50), Name: "Bidder"},
		Amount: schemas.Money{Amount: 1000 + int64(i)*10, Currency: "EUR"}, PlacedAt: t0.Add(time.Duration(i) * time.Millisecond),
	}
}

// BenchmarkDecide is the pure bid decision on an item that has decided 0,
// 100 and 1,000 bids before: what the processor's callback spends in Decide
// per bid. The row keeps the last RecentVerdicts verdicts only, so past that
// the cost should not depend on the bids before.
func BenchmarkDecide(b *testing.B) {
	for _, prior := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("prior=%d", prior), func(b *testing.B) {
			s, t0 := benchState(b, prior)
			bid := benchBid(prior, t0)
			in := auction.Input{EventID: "next", Bid: bid}
			b.ReportAllocs()
			for b.Loop() {
				next, outs := auction.Decide(s, in, t0)
				if len(outs) != 1 || next.BidCount != prior+1 {
					b.Fatalf("got %d outputs, %d accepted, want 1 and %d", len(outs), next.BidCount, prior+1)
				}
			}
		})
	}
}

// BenchmarkTableRow encodes and decodes an auction's state as the group
// table stores it (JSON, as the table codec does), which goka does for every
// event of the item, after 0, 100 and 1,000 bids; row-bytes is what goka
// writes to the table topic per event. With only the recent verdicts kept,
// neither should grow past RecentVerdicts bids.
func BenchmarkTableRow(b *testing.B) {
	for _, prior := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("prior=%d", prior), func(b *testing.B) {
			s, _ := benchState(b, prior)
			row, err := auction.RowCodec.Encode(&s)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(row)))
			b.ReportAllocs()
			for b.Loop() {
				row, err := auction.RowCodec.Encode(&s)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := auction.RowCodec.Decode(row); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(row)), "row-bytes")
		})
	}
}

package auction_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas/cekafka"

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

// BenchmarkCallback is the processor's goka callback on goka's tester, one
// new bid per iteration on an item that has decided 100 bids: decoding and
// checking the record, looking up its bid status, Decide, the verdict and
// bid-status records, and the row's decode and encode, with ids shaped like
// the platform's (UUIDs). It leaves out the broker and the clients.
func BenchmarkCallback(b *testing.B) {
	tt := startTester(b)
	item := goldenItem(b)
	item.ItemID = "0193f5a1-7c1e-7b4a-9a3e-5d2f8c6b1e42"
	consume(tt, schemas.TopicItems, item.ItemID, newEvent(b, schemas.TypeItemPlaced, "evt-item", item.ItemID, item))
	placed := item.EndsAt.Add(-2 * time.Hour)
	bid := func(i int) cekafka.Message {
		bd := mkBid(item, fmt.Sprintf("0193f5a1-%04x-7b4a-9a3e-%012x", i%0xffff, i), fmt.Sprintf("0193f5a0-0000-7000-8000-%012x", i%8),
			item.StartingPrice.Amount+int64(i)*item.MinIncrement.Amount, placed.Add(time.Duration(i)*time.Millisecond))
		return newEvent(b, schemas.TypeBidPlaced, "evt-"+bd.BidID, item.ItemID, bd)
	}
	const prior = 100
	for i := range prior {
		consume(tt, schemas.TopicBids, item.ItemID, bid(i))
	}
	msgs := make([]cekafka.Message, b.N)
	for i := range msgs {
		msgs[i] = bid(prior + i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, m := range msgs {
		consume(tt, schemas.TopicBids, item.ItemID, m)
	}
	b.StopTimer()
	if s := tableState(b, tt, item.ItemID); s == nil || s.BidCount != prior+b.N {
		b.Fatalf("got row %+v, want %d accepted bids", s, prior+b.N)
	}
}

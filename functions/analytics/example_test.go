package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/schemas"
)

// The analytics function counts a batch of completed auctions; a second
// delivery of the same batch, as an at-least-once trigger may make, changes
// nothing. The summary is what the gateway would serve as JSON.
func Example() {
	ctx := context.Background()
	store := analytics.NewMemory()
	fn := analytics.New(analytics.Deps{Store: store})

	ends := time.Date(2025, 3, 21, 18, 0, 0, 0, time.UTC)
	batch := []schemas.ItemCompleted{
		{ItemID: "i1", Category: "cameras", Sold: true, WinnerID: "u2", Price: &schemas.Money{Amount: 230000, Currency: "GBP"},
			ReserveMet: true, BidCount: 8, Bidders: []string{"u1", "u2"}, EndsAt: ends},
		{ItemID: "i2", Category: "cameras", BidCount: 1, Bidders: []string{"u1"}, EndsAt: ends.Add(time.Hour)},
	}
	for range 2 {
		if err := fn.Handle(ctx, batch); err != nil {
			fmt.Println(err)
			return
		}
	}

	day := time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)
	s, err := store.Summary(ctx, "cameras", day, day.AddDate(0, 0, 1))
	if err != nil {
		fmt.Println(err)
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(s)
	// Output:
	// {
	//   "category": "cameras",
	//   "from": "2025-03-21T00:00:00Z",
	//   "to": "2025-03-22T00:00:00Z",
	//   "completed": 2,
	//   "sold": 1,
	//   "unsold": 1,
	//   "sellThrough": 0.5,
	//   "bids": 9,
	//   "bidsPerAuction": 4.5,
	//   "uniqueBidders": 2,
	//   "byCurrency": {
	//     "GBP": {
	//       "sold": 1,
	//       "volume": 230000,
	//       "average": 230000,
	//       "max": 230000
	//     }
	//   }
	// }
}

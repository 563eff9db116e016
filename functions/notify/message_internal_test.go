package notify

import (
	"testing"

	"github.com/auctionflow/auction/schemas"
)

// TestPrice: a price reads as every amount does (schemas.Money.String,
// tested there), and a price nobody disclosed says so.
func TestPrice(t *testing.T) {
	if got := price(&schemas.Money{Amount: 125050, Currency: "EUR"}); got != "€1,250.50" {
		t.Errorf("price of EUR 125050: got %q, want €1,250.50", got)
	}
	if got := price(nil); got != "an undisclosed price" {
		t.Errorf("price(nil): got %q, want an undisclosed price", got)
	}
}

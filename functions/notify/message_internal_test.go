package notify

import (
	"testing"

	"github.com/auctionflow/auction/schemas"
)

func TestPrice(t *testing.T) {
	tests := []struct {
		in   *schemas.Money
		want string
	}{
		{&schemas.Money{Amount: 125050, Currency: "EUR"}, "EUR 1,250.50"},
		{&schemas.Money{Amount: 5, Currency: "GBP"}, "GBP 0.05"},
		{&schemas.Money{Amount: 0, Currency: "USD"}, "USD 0.00"},
		{&schemas.Money{Amount: 100000000, Currency: "USD"}, "USD 1,000,000.00"},
		{&schemas.Money{Amount: 1500, Currency: "JPY"}, "JPY 1,500"},
		{&schemas.Money{Amount: 999, Currency: "KRW"}, "KRW 999"},
		{&schemas.Money{Amount: -250, Currency: "EUR"}, "EUR -2.50"},
		{&schemas.Money{Amount: 1234, Currency: "ZZZ"}, "ZZZ 1,234 (minor units)"},
		{nil, "an undisclosed price"},
	}
	for _, tt := range tests {
		if got := price(tt.in); got != tt.want {
			t.Errorf("price(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

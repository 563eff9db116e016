package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

func TestListItems(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		id := fmt.Sprintf("item-%02d", i)
		st := auction.StatusOpen
		if i%3 == 0 {
			st = auction.StatusClosed
		}
		cat := "lamps"
		if i%2 == 0 {
			cat = "bikes"
		}
		e.auctions.states[id] = &auction.State{Status: st, Item: &schemas.ItemPlaced{
			ItemID: id, Title: id, Category: cat, Seller: schemas.Party{ID: "u-s"},
			StartingPrice: schemas.Money{Amount: 100, Currency: "EUR"}, EndsAt: time.Now().Add(time.Hour),
		}}
	}
	type page struct {
		Items      []struct{ ItemID, Status, Category string }
		NextCursor string
	}
	list := func(query string) page {
		t.Helper()
		w := e.do(t, request{method: http.MethodGet, path: "/v1/items" + query})
		if w.Code != http.StatusOK {
			t.Fatalf("GET /v1/items%s: got %d %s, want 200", query, w.Code, w.Body)
		}
		var p page
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids := func(p page) []string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.ItemID)
		}
		return out
	}

	// Paging through open items three at a time visits each once, in order.
	var got []string
	cursor := ""
	for range 10 {
		q := "?status=open&limit=3"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		p := list(q)
		got = append(got, ids(p)...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if want := []string{"item-01", "item-02", "item-04", "item-05"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("open items over pages: got %v, want %v", got, want)
	}
	if got, want := ids(list("?status=closed&category=bikes")), []string{"item-00", "item-06"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("closed bikes: got %v, want %v", got, want)
	}
	// A query a lenient reading would answer with something not asked for:
	// an unknown status, a limit out of range, a parameter given empty or
	// twice, a cursor this API did not make (an item id is not one).
	for _, bad := range []string{"?status=sold", "?limit=0", "?limit=101", "?limit=x", "?status=", "?category=",
		"?cursor=", "?status=open&status=closed", "?category=Bikes!", "?cursor=garbage", "?cursor=item-02", "?cursor=c1.%21%21"} {
		problem(t, e.do(t, request{method: http.MethodGet, path: "/v1/items" + bad}), http.StatusBadRequest)
	}
}

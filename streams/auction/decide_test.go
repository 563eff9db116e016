package auction_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// goldenItem is the golden payload of an item, decoded.
func goldenItem(t testing.TB) schemas.ItemPlaced {
	t.Helper()
	var item schemas.ItemPlaced
	if err := json.Unmarshal(goldenItemJSON(t), &item); err != nil {
		t.Fatalf("decode golden item: %v", err)
	}
	return item
}

// goldenItemJSON is the golden payload of an item as stored on disk.
func goldenItemJSON(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../../schemas/testdata/auction.item.placed.v1.json")
	if err != nil {
		t.Fatalf("read golden item: %v", err)
	}
	return b
}

func TestDecideItems(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 13, 0, 0, time.UTC)
	item := goldenItem(t)
	other := item
	other.Title = "a different title for the same item id"
	open := auction.State{Status: auction.StatusOpen, Item: &item, Version: 1}

	tests := []struct {
		name  string
		state auction.State
		in    auction.Input
		want  auction.State
	}{
		{
			name:  "first item opens the auction",
			state: auction.State{},
			in:    auction.Input{EventID: "evt-1", Item: &item},
			want:  open,
		},
		{
			name:  "same item again is applied once",
			state: open,
			in:    auction.Input{EventID: "evt-1", Item: &item},
			want:  open,
		},
		{
			name:  "a second item under the same id does not replace the first",
			state: open,
			in:    auction.Input{EventID: "evt-2", Item: &other},
			want:  open,
		},
		{
			name:  "empty input on empty state",
			state: auction.State{},
			in:    auction.Input{},
			want:  auction.State{},
		},
		{
			name:  "empty input on open auction",
			state: open,
			in:    auction.Input{EventID: "evt-3"},
			want:  open,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, outs := auction.Decide(tc.state, tc.in, now)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got state %+v, want %+v", got, tc.want)
			}
			if len(outs) != 0 {
				t.Fatalf("got outputs %+v, want none", outs)
			}
		})
	}
}

// TestDecideDoesNotAliasInput checks that the stored item is a copy: a
// caller reusing its input must not change the state Decide returned.
func TestDecideDoesNotAliasInput(t *testing.T) {
	item := goldenItem(t)
	got, _ := auction.Decide(auction.State{}, auction.Input{Item: &item}, time.Time{})
	item.Title = "changed after Decide"
	if got.Item == nil || got.Item.Title != goldenItem(t).Title {
		t.Fatalf("got stored item %+v, want title %q", got.Item, goldenItem(t).Title)
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// TestSoftClose runs a soft close auction on the embedded platform: a bid
// in the last window moves the end; the auction stays open past its first
// end and grace (the closer waits for the new end, the processor ignores
// the close-due of the old one); a bid placed after the first end is
// accepted, not too late; the cap stops further moves; and the auction
// closes at the end it was moved to. The item, the event stream and the
// log all say so.
func TestSoftClose(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 20 s auction")
	}
	const grace = 300 * time.Millisecond
	p := startPlatform(t, map[string]string{"AUCTION_CLOSE_GRACE": grace.String()})
	item := placeItem(t, p, p.token(t, "alice@example.com"),
		`{"title":"Pocket watch","category":"watches","currency":"EUR","startingPrice":10000,"durationSeconds":10,`+
			`"softClose":{"windowSeconds":10,"maxExtensionSeconds":10}}`)
	var view struct {
		EndsAt    time.Time
		Status    string
		SoftClose *struct{ WindowSeconds, MaxExtensionSeconds int }
		Result    *struct {
			Sold     bool
			WinnerID string
		}
	}
	if get(t, p.base+"/v1/items/"+item, &view) != http.StatusOK || view.SoftClose == nil ||
		view.SoftClose.WindowSeconds != 10 || view.SoftClose.MaxExtensionSeconds != 10 {
		t.Fatalf("item: got %+v, want its soft close of 10 s up to 10 s", view)
	}
	first := view.EndsAt
	moved := first.Add(10 * time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := watch(t, ctx, p.base+"/v1/items/"+item+"/events")

	// Every bid of the first ten seconds is in the last window.
	if status, body := bid(t, p, p.token(t, "bob@example.com"), item, "10000", "wait=5"); status != http.StatusOK {
		t.Fatalf("bob's bid: got %d %s, want 200", status, body)
	}
	for ev := next(t, events); ; ev = next(t, events) {
		if ev.name != "bid-accepted" {
			continue
		}
		var a schemas.BidAccepted
		if err := json.Unmarshal([]byte(ev.data), &a); err != nil || !a.EndsAt.Equal(moved) {
			t.Fatalf("bid-accepted event %s: want endsAt %s", ev.data, moved)
		}
		break
	}
	// The gateway's view of the row follows the verdict by moments.
	for deadline := time.Now().Add(5 * time.Second); get(t, p.base+"/v1/items/"+item, &view) != http.StatusOK || !view.EndsAt.Equal(moved); {
		if time.Now().After(deadline) {
			t.Fatalf("item after the late bid: got endsAt %s, want %s", view.EndsAt, moved)
		}
		<-time.After(20 * time.Millisecond)
	}

	// Past the first end and its grace, the auction is open still.
	for past := first.Add(grace + 700*time.Millisecond); time.Now().Before(past); <-time.After(100 * time.Millisecond) {
		if get(t, p.base+"/v1/items/"+item, &view) != http.StatusOK || view.Status == "closed" {
			t.Fatalf("item at %s, before the moved end %s: got status %q, want it open", time.Now().Format(time.RFC3339Nano), moved, view.Status)
		}
	}
	if view.Status != "open" {
		t.Fatalf("item after its first end: got status %q, want open", view.Status)
	}
	// A bid placed after the first end counts; at the cap, it moves nothing.
	if status, body := bid(t, p, p.token(t, "carol@example.com"), item, "12000", "wait=5"); status != http.StatusOK {
		t.Fatalf("carol's bid after the first end: got %d %s, want 200", status, body)
	}
	if get(t, p.base+"/v1/items/"+item, &view); !view.EndsAt.Equal(moved) {
		t.Fatalf("item after a bid at the cap: got endsAt %s, want %s still", view.EndsAt, moved)
	}

	// It closes at the moved end, sold to carol.
	var done schemas.ItemCompleted
	for ev := next(t, events); ; ev = next(t, events) {
		if ev.name == "item-completed" {
			if err := json.Unmarshal([]byte(ev.data), &done); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if !done.Sold || done.WinnerID != "u-carol" || !done.EndsAt.Equal(moved) || done.ClosedAt.Before(moved.Add(grace)) {
		t.Fatalf("completion: got %+v, want sold to u-carol, ending %s and closed no earlier than %s", done, moved, moved.Add(grace))
	}

	// The log has the extension, once, for the closer.
	var extended []schemas.ItemExtended
	for _, r := range readRecords(t, p.brokers, schemas.TopicItems) {
		got, err := schemas.Read(schemas.TopicItems, cekafka.Message{Key: r.key, Value: r.value, Headers: r.headers})
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := got.Data.(*schemas.ItemExtended); ok && d.ItemID == item {
			extended = append(extended, *d)
		}
	}
	if len(extended) != 1 || !extended[0].EndsAt.Equal(moved) {
		t.Fatalf("extensions of %s on %s: got %+v, want one to %s", item, schemas.TopicItems, extended, moved)
	}
}

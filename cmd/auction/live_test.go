package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data string
}

// watch opens an item's event stream and delivers its events on a channel.
func watch(t *testing.T, ctx context.Context, url string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: got %d %s, want 200 text/event-stream", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan sseEvent, 16)
	go func() {
		defer resp.Body.Close()
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				events <- ev
				ev = sseEvent{}
			}
		}
	}()
	return events
}

func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("event stream ended early")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return sseEvent{}
}

// TestLiveVerdicts: with Prefer: wait a bid is answered with the
// processor's verdict (200 accepted, 409 rejected with the reason), and a
// watcher of the item sees the same decisions as Server-Sent Events.
func TestLiveVerdicts(t *testing.T) {
	p := startPlatform(t, nil)
	itemID := placeItem(t, p, p.token(t, "alice@example.com"), `{"title":"Lamp","category":"lamps","currency":"EUR","startingPrice":1000,"durationSeconds":60}`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := watch(t, ctx, p.base+"/v1/items/"+itemID+"/events")
	if ev := next(t, events); ev.name != "item" || !strings.Contains(ev.data, itemID) {
		t.Fatalf("first event: got %+v, want the item's current state", ev)
	}

	tests := []struct {
		who        string
		amount     string
		wantStatus int
		wantEvent  string
		wantInBody string
	}{
		{"bob@example.com", "1500", http.StatusOK, "bid-accepted", `"status":"accepted"`},
		{"carol@example.com", "1505", http.StatusConflict, "bid-rejected", "below_minimum_increment"},
		{"carol@example.com", "1600", http.StatusOK, "bid-accepted", `"bidCount":2`},
	}
	for _, tt := range tests {
		status, body := bid(t, p, p.token(t, tt.who), itemID, tt.amount, "wait=5")
		if status != tt.wantStatus || !strings.Contains(body, tt.wantInBody) {
			t.Fatalf("%s bids %s: got %d %s, want %d containing %s", tt.who, tt.amount, status, body, tt.wantStatus, tt.wantInBody)
		}
		if ev := next(t, events); ev.name != tt.wantEvent || !strings.Contains(ev.data, `"amount":`+tt.amount) {
			t.Fatalf("%s bids %s: got event %+v, want %s for that amount", tt.who, tt.amount, ev, tt.wantEvent)
		}
	}
	// Without the preference the answer does not wait: 202 pending. The
	// bid's status is then readable by its id alone.
	status, body := bid(t, p, p.token(t, "bob@example.com"), itemID, "2000", "")
	if status != http.StatusAccepted || !strings.Contains(body, `"pending"`) {
		t.Fatalf("bid without Prefer: got %d %s, want 202 pending", status, body)
	}
	var placed struct{ BidID string }
	if err := json.Unmarshal([]byte(body), &placed); err != nil || placed.BidID == "" {
		t.Fatalf("bid answer %s: no bidId", body)
	}
	var st struct{ Status, ItemID, BidderID string }
	deadline := time.Now().Add(5 * time.Second)
	for get(t, p.base+"/v1/bids/"+placed.BidID, &st) != http.StatusOK || st.Status == "pending" {
		if time.Now().After(deadline) {
			t.Fatalf("bid %s not decided within 5 s (last %+v)", placed.BidID, st)
		}
		<-time.After(10 * time.Millisecond)
	}
	if st.Status != "accepted" || st.ItemID != itemID || st.BidderID != "u-bob" {
		t.Fatalf("GET /v1/bids/%s: got %+v, want bob's accepted bid on %s", placed.BidID, st, itemID)
	}
	if code := get(t, p.base+"/v1/bids/no-such-bid", nil); code != http.StatusNotFound {
		t.Fatalf("unknown bid: got %d, want 404", code)
	}
	if code := get(t, p.base+"/v1/items/no-such-item/events", nil); code != http.StatusNotFound {
		t.Fatalf("events of an unknown item: got %d, want 404", code)
	}
}

func placeItem(t *testing.T, p *testPlatform, token, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/items", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var placed struct{ ItemID string }
	decode(t, resp, &placed)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("place item: got %d, want 202", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for get(t, p.base+"/v1/items/"+placed.ItemID, nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("item %s not readable within 5 s", placed.ItemID)
		}
		<-time.After(10 * time.Millisecond)
	}
	return placed.ItemID
}

func bid(t *testing.T, p *testPlatform, token, itemID, amount, prefer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/items/"+itemID+"/bids", strings.NewReader(`{"amount":`+amount+`}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	return resp.StatusCode, string(raw)
}

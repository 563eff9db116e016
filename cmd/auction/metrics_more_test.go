package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
)

// TestMetricsOfTheWholeFlow follows an auction to its close on the admin
// port's /metrics: the out-of-band triggers' calls and batch sizes, consumer
// lag for every partition of the processor and of the triggers, and the
// auctions opened and closed.
func TestMetricsOfTheWholeFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 10 s auction")
	}
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startPlatform(t, map[string]string{"AUCTION_ADMIN_ADDR": admin, "AUCTION_CLOSE_GRACE": "300ms"})
	url := "http://" + admin + "/metrics"
	before := scrape(t, url)

	item := placeItem(t, p, p.token(t, "alice@example.com"),
		`{"title":"Pocket watch","category":"watches","currency":"EUR","startingPrice":2000,"durationSeconds":10}`)
	if status, body := bid(t, p, p.token(t, "bob@example.com"), item, "2500", "wait=5"); status != http.StatusOK {
		t.Fatalf("bid: got %d %s, want 200", status, body)
	}

	// The auction closes after 10 s; both functions then see its completion.
	moved := []string{
		`auction_trigger_invocations_total{function="notify"}`,
		`auction_trigger_invocations_total{function="analytics"}`,
		`auction_trigger_batch_size_count{function="notify"}`,
		`auction_trigger_batch_size_count{function="analytics"}`,
		`auction_trigger_call_duration_seconds_count{function="notify"}`,
		`auction_trigger_processed_records_total{function="notify"}`,
		`auction_auctions_opened_total`,
	}
	var after map[string]float64
	deadline := time.Now().Add(40 * time.Second)
	for {
		after = scrape(t, url)
		var still []string
		for _, s := range moved {
			if after[s] <= before[s] {
				still = append(still, s)
			}
		}
		if sum(after, "auction_auctions_closed_total{") <= sum(before, "auction_auctions_closed_total{") {
			still = append(still, "auction_auctions_closed_total")
		}
		if len(still) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("series that did not move within 40 s: %s", strings.Join(still, ", "))
		}
		<-time.After(100 * time.Millisecond)
	}
	if got := after[`auction_trigger_partitions_assigned{function="notify"}`]; got != 3 {
		t.Errorf("partitions assigned to notify: got %v, want 3", got)
	}

	// Every partition has a lag series: the processor's inputs, and the
	// topic of each trigger. The triggers catch up to none once done.
	lag := func(group, topic string, partition int) string {
		return fmt.Sprintf(`auction_consumer_lag{group=%q,partition="%d",topic=%q}`, group, partition, topic)
	}
	caughtUp := map[string]bool{} // series → must be 0
	for _, topic := range []string{schemas.TopicItems, schemas.TopicBids} {
		for part := range 3 {
			caughtUp[lag("auction", topic, part)] = false
		}
	}
	for _, group := range []string{"auction-notify", "auction-analytics"} {
		for part := range 3 {
			caughtUp[lag(group, schemas.TopicItemComplete, part)] = true
		}
	}
	for {
		after = scrape(t, url)
		var missing []string
		for s, zero := range caughtUp {
			v, ok := after[s]
			if !ok || zero && v != 0 {
				missing = append(missing, fmt.Sprintf("%s (%v)", s, v))
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lag series missing, or the triggers' not down to 0, within 40 s: %s", strings.Join(missing, ", "))
		}
		<-time.After(100 * time.Millisecond)
	}
}

// sum adds up the series that start with prefix.
func sum(series map[string]float64, prefix string) float64 {
	var n float64
	for s, v := range series {
		if strings.HasPrefix(s, prefix) {
			n += v
		}
	}
	return n
}

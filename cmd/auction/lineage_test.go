package main

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/schemas"
)

// TestLineage follows one auction from the item placed to the analytics
// count through GET /v1/items/{id}/lineage: every event is there once, and
// every cause is an event of the chain of the type that causes it.
func TestLineage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 10 s auction")
	}
	p := startPlatform(t, map[string]string{"AUCTION_CLOSE_GRACE": "300ms"})
	item := placeItem(t, p, p.token(t, "alice@example.com"),
		`{"title":"Ship in a bottle","category":"models","currency":"EUR","startingPrice":5000,"durationSeconds":10}`)
	for _, b := range []struct{ who, amount string }{{"bob@example.com", "5000"}, {"carol@example.com", "4000"}, {"carol@example.com", "7000"}} {
		if status, body := bid(t, p, p.token(t, b.who), item, b.amount, "wait=5"); status != http.StatusOK && status != http.StatusConflict {
			t.Fatalf("bid %s: got %d %s", b.amount, status, body)
		}
	}

	// Complete: the item, three bids and their verdicts, close-due,
	// completion, four notifications (Bob outbid by Carol's 7000, then won,
	// lost, sold) and the count.
	want := map[string]int{
		schemas.TypeItemPlaced: 1, schemas.TypeBidPlaced: 3, schemas.TypeBidAccepted: 2, schemas.TypeBidRejected: 1,
		schemas.TypeCloseDue: 1, schemas.TypeItemCompleted: 1, schemas.TypeNotificationSent: 4, schemas.TypeAnalyticsCounted: 1,
	}
	var chain struct {
		ItemID string
		Events []lineage.Entry
	}
	deadline := time.Now().Add(40 * time.Second)
	for {
		code := get(t, p.base+"/v1/items/"+item+"/lineage", &chain)
		if code == http.StatusOK && sameCounts(countTypes(chain.Events), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lineage of %s: got %d with %v, want %v", item, code, countTypes(chain.Events), want)
		}
		<-time.After(100 * time.Millisecond)
	}

	byID := map[string]lineage.Entry{}
	for _, e := range chain.Events {
		if _, dup := byID[e.ID]; dup {
			t.Errorf("event %s listed twice", e.ID)
		}
		byID[e.ID] = e
	}
	// What each type is caused by.
	causedBy := map[string]string{
		schemas.TypeBidPlaced: schemas.TypeItemPlaced, schemas.TypeBidAccepted: schemas.TypeBidPlaced,
		schemas.TypeBidRejected: schemas.TypeBidPlaced, schemas.TypeCloseDue: schemas.TypeItemPlaced,
		schemas.TypeItemCompleted: schemas.TypeCloseDue, schemas.TypeNotificationSent: schemas.TypeItemCompleted,
		schemas.TypeAnalyticsCounted: schemas.TypeItemCompleted,
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	itemPartition := byID[item].Partition
	for i, e := range chain.Events {
		if e.CorrelationID != item {
			t.Errorf("%s %s: correlation %q, want the item", e.Type, e.ID, e.CorrelationID)
		}
		if !hex32.MatchString(e.TraceID) {
			t.Errorf("%s %s: trace id %q, want 32 hex digits", e.Type, e.ID, e.TraceID)
		}
		if e.Offset < 0 || e.Time.IsZero() {
			t.Errorf("%s %s: offset %d time %v", e.Type, e.ID, e.Offset, e.Time)
		}
		if i > 0 && e.Time.Before(chain.Events[i-1].Time) {
			t.Errorf("%s %s at %v listed after an event at %v", e.Type, e.ID, e.Time, chain.Events[i-1].Time)
		}
		// Item-keyed topics share one partition per item (goka's co-partitioning).
		if t2, _ := schemas.LookupTopic(e.Topic); t2.CoPartitioned && e.Partition != itemPartition {
			t.Errorf("%s %s on %s/%d, want partition %d like the item", e.Type, e.ID, e.Topic, e.Partition, itemPartition)
		}
		if e.Type == schemas.TypeItemPlaced {
			if e.CausationID != "" || e.Topic != schemas.TopicItems {
				t.Errorf("item placed: cause %q topic %s, want none on %s", e.CausationID, e.Topic, schemas.TopicItems)
			}
			continue
		}
		cause, ok := byID[e.CausationID]
		if !ok {
			t.Errorf("%s %s: cause %q is not in the chain", e.Type, e.ID, e.CausationID)
			continue
		}
		// An outbid notice is caused by the verdict that overtook the bid.
		if want := causedBy[e.Type]; cause.Type != want && !(e.Type == schemas.TypeNotificationSent && cause.Type == schemas.TypeBidAccepted) {
			t.Errorf("%s %s: caused by a %s, want a %s", e.Type, e.ID, cause.Type, want)
		}
		if cause.Time.After(e.Time) {
			t.Errorf("%s %s at %v: its cause is later (%v)", e.Type, e.ID, e.Time, cause.Time)
		}
		// A verdict is decided in the trace of the request that placed the bid.
		if (e.Type == schemas.TypeBidAccepted || e.Type == schemas.TypeBidRejected) && e.TraceID != cause.TraceID {
			t.Errorf("%s %s: trace %s, want its bid's %s", e.Type, e.ID, e.TraceID, cause.TraceID)
		}
	}
	if first := chain.Events[0]; first.Type != schemas.TypeItemPlaced {
		t.Errorf("chain starts with %s, want the item placed", first.Type)
	}
	if code := get(t, p.base+"/v1/items/nope/lineage", nil); code != http.StatusNotFound {
		t.Errorf("lineage of an unknown item: got %d, want 404", code)
	}
}

func countTypes(es []lineage.Entry) map[string]int {
	n := map[string]int{}
	for _, e := range es {
		n[e.Type]++
	}
	return n
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTraceFromBidToDecision collects every span of the platform in memory
// and checks that one trace runs from the HTTP request that placed a bid,
// through the edge function and the write to auction.bids, to the
// processor's decision on it.
func TestTraceFromBidToDecision(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	p := startPlatform(t, nil, func(e *runEnv) { e.spans = spans })
	item := placeItem(t, p, p.token(t, "alice@example.com"),
		`{"title":"Tin soldier","category":"toys","currency":"EUR","startingPrice":100,"durationSeconds":60}`)

	req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/items/"+item+"/bids", strings.NewReader(`{"amount":150}`))
	req.Header.Set("Authorization", "Bearer "+p.token(t, "bob@example.com"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "wait=5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bid: got %d, want 200 accepted", resp.StatusCode)
	}
	// The answer names its trace (W3C traceparent: version-trace-span-flags).
	parts := strings.Split(resp.Header.Get("Traceparent"), "-")
	if len(parts) != 4 {
		t.Fatalf("Traceparent %q: want version-traceid-spanid-flags", resp.Header.Get("Traceparent"))
	}
	traceID := parts[1]

	// The decision span ends just before the verdict reaches the gateway;
	// with a synchronous exporter it is there by now, or very soon.
	find := func(name string) (tracetest.SpanStub, bool) {
		for _, s := range spans.GetSpans() {
			if s.Name == name && s.SpanContext.TraceID().String() == traceID {
				return s, true
			}
		}
		return tracetest.SpanStub{}, false
	}
	deadline := time.Now().Add(10 * time.Second)
	var decide tracetest.SpanStub
	for {
		var ok bool
		if decide, ok = find("decide " + schemas.TopicBids); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision span in trace %s; spans: %v", traceID, spanNames(spans.GetSpans()))
		}
		<-time.After(20 * time.Millisecond)
	}

	// server → invoke placebid → send auction.bids → decide auction.bids
	chain := []struct {
		name string
		kind trace.SpanKind
	}{
		{"POST /v1/items/{itemId}/bids", trace.SpanKindServer},
		{"invoke placebid", trace.SpanKindInternal},
		{"send " + schemas.TopicBids, trace.SpanKindProducer},
		{"decide " + schemas.TopicBids, trace.SpanKindConsumer},
	}
	var parent trace.SpanID
	for i, want := range chain {
		s, ok := find(want.name)
		if !ok {
			t.Fatalf("no span %q in trace %s; spans: %v", want.name, traceID, spanNames(spans.GetSpans()))
		}
		if s.SpanKind != want.kind {
			t.Errorf("%s: kind %v, want %v", want.name, s.SpanKind, want.kind)
		}
		if i > 0 && s.Parent.SpanID() != parent {
			t.Errorf("%s: parent %v, want %s (%v)", want.name, s.Parent.SpanID(), chain[i-1].name, parent)
		}
		parent = s.SpanContext.SpanID()
	}
	attrs := map[string]string{}
	for _, a := range decide.Attributes {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["auction.verdict"] != "accepted" || attrs["auction.item_id"] != item || attrs["messaging.destination.name"] != schemas.TopicBids {
		t.Errorf("decision span attributes: %v, want an accepted bid on %s from %s", attrs, item, schemas.TopicBids)
	}
}

func spanNames(ss tracetest.SpanStubs) []string {
	var names []string
	for _, s := range ss {
		names = append(names, s.Name+"@"+s.SpanContext.TraceID().String()[:8])
	}
	slices.Sort(names)
	return names
}

package auction_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/streams/auction"
	"github.com/auctionflow/auction/streams/auction/auctiontest"
)

// testNow is the processor's fixed clock in these tests.
var testNow = time.Date(2025, 3, 14, 9, 13, 0, 0, time.UTC)

// startTester runs the auction processor's graph on goka's tester and stops
// it when t ends.
func startTester(t testing.TB) *tester.Tester {
	t.Helper()
	return startTesterWith(t, auction.Config{Now: func() time.Time { return testNow }})
}

// startTesterWith is startTester with cfg (its log discarded).
func startTesterWith(t testing.TB, cfg auction.Config) *tester.Tester {
	t.Helper()
	tt := tester.New(t)
	cfg.Log = slog.New(slog.DiscardHandler)
	p, err := auction.New(cfg)
	if err != nil {
		t.Fatalf("new processor: %v", err)
	}
	auctiontest.Run(t, tt, p)
	return tt
}

// newEvent builds a CloudEvent keyed by subject and encodes it in binary mode.
func newEvent(t testing.TB, eventType, id, subject string, data any) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{
		ID: id, Source: schemas.Source + "/test", Subject: subject, Time: testNow,
	}, data)
	if err != nil {
		t.Fatalf("new %s event: %v", eventType, err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatalf("encode %s event: %v", eventType, err)
	}
	return m
}

// rawEvent encodes an event whose data is raw JSON, bypassing any Go type.
func rawEvent(t testing.TB, eventType, id, subject string, data []byte) cekafka.Message {
	t.Helper()
	return newEvent(t, eventType, id, subject, jsonRaw(data))
}

type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

func gokaHeaders(hs []cekafka.Header) goka.Headers {
	h := make(goka.Headers, len(hs))
	for _, x := range hs {
		h[x.Key] = x.Value
	}
	return h
}

func consume(tt *tester.Tester, topic, key string, m cekafka.Message) {
	var opts []tester.EmitOption
	if len(m.Headers) > 0 {
		opts = append(opts, tester.WithHeaders(gokaHeaders(m.Headers)))
	}
	tt.Consume(topic, key, m.Value, opts...)
}

// itemWithID is the golden item under another id.
func itemWithID(t testing.TB, id string) schemas.ItemPlaced {
	item := goldenItem(t)
	item.ItemID = id
	return item
}

func tableState(t testing.TB, tt *tester.Tester, key string) *auction.State {
	t.Helper()
	v := tt.TableValue(goka.GroupTable(auction.Group), key)
	if v == nil {
		return nil
	}
	s, ok := v.(*auction.State)
	if !ok {
		t.Fatalf("got table value %T, want *auction.State", v)
	}
	return s
}

func assertOpen(t *testing.T, tt *tester.Tester, item schemas.ItemPlaced) {
	t.Helper()
	s := tableState(t, tt, item.ItemID)
	if s == nil {
		t.Fatalf("got no table row for %s, want an open auction", item.ItemID)
	}
	want := auction.State{Status: auction.StatusOpen, Item: &item, Version: 1}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got state %+v (item %+v), want %+v (item %+v)", *s, s.Item, want, want.Item)
	}
}

// observed records what a processor reports.
type observed struct {
	mu     sync.Mutex
	events []string
}

func (o *observed) add(e string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

func (o *observed) Decision(accepted bool, reason string) {
	o.add(fmt.Sprintf("decision %v %s", accepted, reason))
}
func (o *observed) AuctionOpened()               { o.add("opened") }
func (o *observed) AuctionClosed(outcome string) { o.add("closed " + outcome) }
func (o *observed) DeadLetter(consumer string)   { o.add("dead letter " + consumer) }

// TestProcessorReportsToObserver: the observer hears of every verdict, the
// auction opening and closing, and a dead-lettered record, in order.
func TestProcessorReportsToObserver(t *testing.T) {
	item := goldenItem(t)
	obs := &observed{}
	// The clock is past endsAt, so the close-due closes the auction.
	tt := startTesterWith(t, auction.Config{Now: func() time.Time { return item.EndsAt.Add(time.Minute) }, Observe: obs})

	consume(tt, schemas.TopicItems, item.ItemID, newEvent(t, schemas.TypeItemPlaced, "evt-item", item.ItemID, item))
	placed := item.EndsAt.Add(-time.Hour)
	for _, b := range []schemas.BidPlaced{
		mkBid(item, "bid-1", "usr_1", item.StartingPrice.Amount, placed),
		mkBid(item, "bid-2", "usr_2", item.StartingPrice.Amount, placed.Add(time.Second)),
	} {
		consume(tt, schemas.TopicBids, item.ItemID, newEvent(t, schemas.TypeBidPlaced, "evt-"+b.BidID, item.ItemID, b))
	}
	tt.Consume(schemas.TopicBids, item.ItemID, []byte("not a cloudevent"))
	consume(tt, schemas.TopicBids, item.ItemID, newEvent(t, schemas.TypeCloseDue, "evt-close", item.ItemID,
		schemas.CloseDue{ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt.Add(time.Second)}))

	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := []string{"opened", "decision true ", "decision false " + string(schemas.ReasonBelowIncrement),
		"dead letter " + string(auction.Group), "closed unsold"}
	if !slices.Equal(obs.events, want) {
		t.Fatalf("got %q, want %q", obs.events, want)
	}
}

func TestProcessorStoresItem(t *testing.T) {
	tt := startTester(t)
	dlq := tt.NewQueueTracker(schemas.TopicDeadLetter)
	results := tt.NewQueueTracker(schemas.TopicBidResults)
	complete := tt.NewQueueTracker(schemas.TopicItemComplete)

	item := goldenItem(t)
	m := newEvent(t, schemas.TypeItemPlaced, "evt-item-1", item.ItemID, item)
	if string(m.Key) != item.ItemID {
		t.Fatalf("got key %q, want %q", m.Key, item.ItemID)
	}
	consume(tt, schemas.TopicItems, item.ItemID, m)
	assertOpen(t, tt, item)

	// The same event again (a producer retry) changes nothing.
	consume(tt, schemas.TopicItems, item.ItemID, m)
	assertOpen(t, tt, item)

	for _, q := range []*tester.QueueTracker{dlq, results, complete} {
		if _, _, ok := q.NextRaw(); ok {
			t.Fatalf("got a record on an output, want none")
		}
	}
}

func TestProcessorDeadLetters(t *testing.T) {
	good := goldenItem(t)
	missingTitle := bytes.Replace(goldenItemJSON(t), []byte(`"title"`), []byte(`"headline"`), 1)

	tests := []struct {
		name  string
		topic string
		key   string
		msg   func(t *testing.T) cekafka.Message
		// errHas are substrings the dlq-error header must contain.
		errHas []string
	}{
		{
			name:  "undecodable bytes without ce_ headers",
			topic: schemas.TopicItems,
			key:   "item-bad",
			msg: func(t *testing.T) cekafka.Message {
				return cekafka.Message{Key: []byte("item-bad"), Value: []byte("\x00\xffnot a cloudevent{")}
			},
			errHas: []string{"not a CloudEvent"},
		},
		{
			name:  "close-due on auction.items",
			topic: schemas.TopicItems,
			key:   "item-close",
			msg: func(t *testing.T) cekafka.Message {
				return newEvent(t, schemas.TypeCloseDue, "evt-close", "item-close", schemas.CloseDue{
					ItemID: "item-close", EndsAt: testNow, CloseAt: testNow.Add(time.Minute),
				})
			},
			errHas: []string{"evt-close", schemas.TypeCloseDue, "does not belong on"},
		},
		{
			name:  "bid accepted on auction.bids",
			topic: schemas.TopicBids,
			key:   "item-accepted",
			msg: func(t *testing.T) cekafka.Message {
				return newEvent(t, schemas.TypeBidAccepted, "evt-accepted", "item-accepted", schemas.BidAccepted{
					BidID: "bid-1", ItemID: "item-accepted", BidderID: "usr_1",
					Amount:   schemas.Money{Amount: 160000, Currency: "GBP"},
					PlacedAt: testNow, DecidedAt: testNow, BidCount: 1,
				})
			},
			errHas: []string{"evt-accepted", schemas.TypeBidAccepted, "does not belong on"},
		},
		{
			name:  "item failing its schema",
			topic: schemas.TopicItems,
			key:   good.ItemID,
			msg: func(t *testing.T) cekafka.Message {
				return rawEvent(t, schemas.TypeItemPlaced, "evt-invalid", good.ItemID, missingTitle)
			},
			errHas: []string{"evt-invalid", "invalid " + schemas.TypeItemPlaced + " data", `"/title"`, `"/headline"`},
		},
		{
			name:  "item under another key",
			topic: schemas.TopicItems,
			key:   "item-other",
			msg: func(t *testing.T) cekafka.Message {
				return newEvent(t, schemas.TypeItemPlaced, "evt-mismatch", "item-other", good)
			},
			errHas: []string{"evt-mismatch", good.ItemID, `key "item-other"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := startTester(t)
			dlq := tt.NewQueueTracker(schemas.TopicDeadLetter)
			results := tt.NewQueueTracker(schemas.TopicBidResults)

			// A valid item first, so the bad record is not at offset 0 of items.
			first := itemWithID(t, "item-before")
			consume(tt, schemas.TopicItems, first.ItemID, newEvent(t, schemas.TypeItemPlaced, "evt-before", first.ItemID, first))
			wantOffset := "0"
			if tc.topic == schemas.TopicItems {
				wantOffset = "1"
			}

			m := tc.msg(t)
			consume(tt, tc.topic, tc.key, m)

			hs, key, value, ok := dlq.NextRawWithHeaders()
			if !ok {
				t.Fatalf("got no dead-letter record, want one")
			}
			if key != tc.key {
				t.Fatalf("got dead-letter key %q, want %q", key, tc.key)
			}
			if !bytes.Equal(value, m.Value) {
				t.Fatalf("got dead-letter value %q, want %q", value, m.Value)
			}
			for _, h := range m.Headers {
				if got := string(hs[h.Key]); got != string(h.Value) {
					t.Fatalf("got original header %s=%q, want %q", h.Key, got, h.Value)
				}
			}
			want := map[string]string{
				schemas.HeaderDLQTopic:     tc.topic,
				schemas.HeaderDLQPartition: "0", // the tester has one partition
				schemas.HeaderDLQOffset:    wantOffset,
				schemas.HeaderDLQAttempts:  "1",
				schemas.HeaderDLQConsumer:  string(auction.Group),
				schemas.HeaderDLQTime:      testNow.Format(time.RFC3339Nano),
			}
			for k, v := range want {
				if got, ok := hs[k]; !ok || string(got) != v {
					t.Fatalf("got header %s=%q (present %v), want %q", k, got, ok, v)
				}
			}
			errText := string(hs[schemas.HeaderDLQError])
			if errText == "" {
				t.Fatalf("got empty %s header, want the cause", schemas.HeaderDLQError)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(errText, s) {
					t.Fatalf("got %s %q, want it to mention %q", schemas.HeaderDLQError, errText, s)
				}
			}
			if _, _, ok := dlq.NextRaw(); ok {
				t.Fatalf("got a second dead-letter record, want exactly one")
			}
			if _, _, ok := results.NextRaw(); ok {
				t.Fatalf("got a bid result, want none")
			}
			if s := tableState(t, tt, tc.key); s != nil {
				t.Fatalf("got table row %+v for %s, want none", *s, tc.key)
			}

			// The processor keeps going.
			consume(tt, schemas.TopicItems, good.ItemID, newEvent(t, schemas.TypeItemPlaced, "evt-good", good.ItemID, good))
			assertOpen(t, tt, good)
			assertOpen(t, tt, first)
			if _, _, ok := dlq.NextRaw(); ok {
				t.Fatalf("got a dead-letter record for a valid item, want none")
			}
		})
	}
}

// TestProcessorAnswersLateDuplicateFromBidStatus: a bid redelivered after
// more than RecentVerdicts newer bids on its item has left the item's row;
// the processor finds its verdict in auction.bid-status and emits it again,
// unchanged, instead of deciding it a second time.
func TestProcessorAnswersLateDuplicateFromBidStatus(t *testing.T) {
	tt := startTester(t)
	results := tt.NewQueueTracker(schemas.TopicBidResults)
	item := goldenItem(t)
	consume(tt, schemas.TopicItems, item.ItemID, newEvent(t, schemas.TypeItemPlaced, "evt-item", item.ItemID, item))
	bids := risingBids(item, auction.RecentVerdicts+5, item.EndsAt.Add(-2*time.Hour))
	for _, b := range append(bids, bids[0]) {
		consume(tt, schemas.TopicBids, item.ItemID, newEvent(t, schemas.TypeBidPlaced, "evt-"+b.BidID, item.ItemID, b))
	}

	var first, last []byte
	n := 0
	for {
		_, v, ok := results.NextRaw()
		if !ok {
			break
		}
		if n == 0 {
			first = v
		}
		last, n = v, n+1
	}
	if n != len(bids)+1 {
		t.Fatalf("got %d results, want %d", n, len(bids)+1)
	}
	if !bytes.Equal(last, first) {
		t.Fatalf("got %s for the duplicate, want the first verdict again %s", last, first)
	}
	s := tableState(t, tt, item.ItemID)
	if s == nil || s.BidCount != len(bids) || s.Version != int64(len(bids)+1) {
		t.Fatalf("got row %+v, want %d accepted bids and nothing after them", s, len(bids))
	}
	st, _ := tt.TableValue(goka.Table(schemas.TopicBidStatus), bids[0].BidID).(*schemas.BidStatus)
	if st == nil || st.Status != schemas.StatusAccepted || st.BidCount != 1 {
		t.Fatalf("got status %+v, want accepted as the first bid", st)
	}
}

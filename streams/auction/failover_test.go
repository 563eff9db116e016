package auction_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/lovoo/goka/storage"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/streams/auction"
)

// failoverTimeout bounds waits that span a goka rebalance: a member leaving
// or joining the group, then table partitions recovered from auction-table.
const failoverTimeout = 60 * time.Second

// TestProcessorRecoversFromTableTopic stops a processor and starts another
// one with an empty local store: it must rebuild the auctions from the table
// topic, so a bid too small for the highest bid A accepted is refused, a good
// one counts as the fourth, and the close sells to the right bidder once.
func TestProcessorRecoversFromTableTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kafka broker (embedded or $KAFKA_BROKERS)")
	}
	brokers := kafkatest.Cluster(t)
	cfg := kafkatest.Config(brokers, 3)
	cfg.ClientID = "auction-recover-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	clock := newFailoverClock(testNow)
	prod := newFailoverProducer(t, cfg)
	view := runTableView(t, ctx, cfg)

	item := itemWithID(t, "itm-recover"+runToken())
	ours := []string{item.ItemID}
	item.PlacedAt = testNow
	item.EndsAt = testNow.Add(time.Hour) // the near future of the fake clock
	item.StartingPrice = schemas.Money{Amount: 150000, Currency: "GBP"}
	item.MinIncrement = schemas.Money{Amount: 2500, Currency: "GBP"}
	item.ReservePrice = &schemas.Money{Amount: 220000, Currency: "GBP"}
	bid := func(id, bidder string, amount int64, minute int) schemas.BidPlaced {
		return mkBid(item, id, bidder, amount, testNow.Add(time.Duration(minute)*time.Minute))
	}

	// Processor A decides the item and three bids.
	a := startFailoverProcessor(t, ctx, "processor A", cfg, clock)
	publish(t, ctx, prod, schemas.TopicItems, itemEvent(t, clock, item))
	publish(t, ctx, prod, schemas.TopicBids,
		bidEvent(t, clock, bid("bid-1", "usr_b1", 150000, 1)),
		bidEvent(t, clock, bid("bid-2", "usr_b2", 175000, 2)),
		bidEvent(t, clock, bid("bid-3", "usr_b3", 200000, 3)))
	waitFor(t, failoverTimeout, "bidCount 3 with bid-3 highest", func() (bool, string) {
		return stateIs(view, item.ItemID, func(s *auction.State) bool {
			return s.BidCount == 3 && s.Highest != nil && s.Highest.BidID == "bid-3"
		})
	})
	if err := a.stop(); err != nil {
		t.Fatalf("stop processor A: got %v, want nil", err)
	}

	// Processor B starts from an empty folder: all it knows comes from auction-table.
	b := startFailoverProcessor(t, ctx, "processor B", cfg, clock)
	publish(t, ctx, prod, schemas.TopicBids,
		bidEvent(t, clock, bid("bid-4", "usr_b1", 201000, 4)), // below 200000 + 2500
		bidEvent(t, clock, bid("bid-5", "usr_b2", 230000, 5)))

	results := map[string]verdict{}
	for _, r := range kafkatest.ReadKeys(t, brokers, schemas.TopicBidResults, ours, 5, failoverTimeout) {
		v := decodeVerdict(t, r)
		if _, dup := results[v.BidID]; dup {
			t.Fatalf("got a second verdict for %s, want one per bid", v.BidID)
		}
		results[v.BidID] = v
	}
	for _, want := range []verdict{
		{BidID: "bid-1", Type: schemas.TypeBidAccepted, Amount: 150000, BidCount: 1},
		{BidID: "bid-2", Type: schemas.TypeBidAccepted, Amount: 175000, BidCount: 2},
		{BidID: "bid-3", Type: schemas.TypeBidAccepted, Amount: 200000, BidCount: 3},
		{BidID: "bid-4", Type: schemas.TypeBidRejected, Amount: 201000, Reason: schemas.ReasonBelowIncrement},
		{BidID: "bid-5", Type: schemas.TypeBidAccepted, Amount: 230000, BidCount: 4},
	} {
		got, ok := results[want.BidID]
		if !ok {
			t.Fatalf("got no verdict for %s, want %s", want.BidID, want.Type)
		}
		if got.Type != want.Type || got.Amount != want.Amount || got.BidCount != want.BidCount || got.Reason != want.Reason {
			t.Fatalf("%s: got %s amount %d bidCount %d reason %q, want %s amount %d bidCount %d reason %q",
				want.BidID, got.Type, got.Amount, got.BidCount, got.Reason,
				want.Type, want.Amount, want.BidCount, want.Reason)
		}
	}
	if d := results["bid-4"].Detail; !strings.Contains(d, "£2,000.00") || !strings.Contains(d, "£2,025.00") {
		t.Fatalf("bid-4: got detail %q, want it to name the highest bid £2,000.00 and the minimum £2,025.00", d)
	}
	waitFor(t, failoverTimeout, "bidCount 4 with bid-5 highest", func() (bool, string) {
		return stateIs(view, item.ItemID, func(s *auction.State) bool {
			return s.BidCount == 4 && s.Highest != nil && s.Highest.BidID == "bid-5"
		})
	})

	// The auction ends on the fake clock; the close-due closes it.
	closedAt := item.EndsAt.Add(time.Minute)
	clock.Set(closedAt)
	publish(t, ctx, prod, schemas.TopicBids, closeEvent(t, clock, item))
	recs := kafkatest.ReadKeys(t, brokers, schemas.TopicItemComplete, ours, 1, failoverTimeout)
	done := decodeCompletion(t, recs[0])
	want := schemas.ItemCompleted{
		ItemID: item.ItemID, SellerID: item.Seller.ID, Title: item.Title, Category: item.Category,
		Sold: true, WinnerID: "usr_b2", Price: &schemas.Money{Amount: 230000, Currency: "GBP"},
		ReserveMet: true, BidCount: 4, Bidders: []string{"usr_b1", "usr_b2", "usr_b3"},
		EndsAt: item.EndsAt, ClosedAt: closedAt,
	}
	if done.EventID != item.ItemID+".completed" || !sameCompletion(done.Data, want) {
		t.Fatalf("got completion %s %+v (price %v), want %s.completed %+v (price %v)",
			done.EventID, done.Data, done.Data.Price, item.ItemID, want, want.Price)
	}
	waitFor(t, failoverTimeout, "the auction closed in the table", func() (bool, string) {
		return stateIs(view, item.ItemID, func(s *auction.State) bool { return s.Status == auction.StatusClosed })
	})

	// With B stopped nothing more can be written: count what was.
	if err := b.stop(); err != nil {
		t.Fatalf("stop processor B: got %v, want nil", err)
	}
	for _, tc := range []struct {
		topic string
		want  int64
	}{
		{schemas.TopicItemComplete, 1},
		{schemas.TopicBidResults, 5},
		{schemas.TopicDeadLetter, 0},
	} {
		if n := countKeys(t, brokers, tc.topic, cfg.Partitions, ours, int(tc.want)); n != tc.want {
			t.Fatalf("got %d records on %s, want %d", n, tc.topic, tc.want)
		}
	}
}

// TestTwoProcessorsOneStopsMidStream runs two processors of the group while
// bids flow, stops one midway and starts a replacement with an empty local
// store. Every bid must get one verdict (repeated at most, never changed),
// every auction must end at the highest bid the test sent, and every item
// must complete exactly once (by event id).
func TestTwoProcessorsOneStopsMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Kafka broker (embedded or $KAFKA_BROKERS)")
	}
	const (
		items = 20
		// roundsBefore run with both processors, roundsBetween with processor 2
		// alone, roundsAfter once the replacement is ready.
		roundsBefore, roundsBetween, roundsAfter = 20, 10, 20
		// maxRounds bounds the producer (one round per tick).
		maxRounds = 500
		tick      = 100 * time.Millisecond
	)
	brokers := kafkatest.Cluster(t)
	partitions := 6 // three per processor
	if kafkatest.Real() {
		// The auction topics already exist there, co-partitioned with the
		// 3 partitions every other test creates them with.
		partitions = 3
	}
	cfg := kafkatest.Config(brokers, partitions)
	cfg.ClientID = "auction-failover-test"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	clock := newFailoverClock(testNow) // far before endsAt while bidding
	endsAt := testNow.Add(time.Hour)
	prod := newFailoverProducer(t, cfg)
	view := runTableView(t, ctx, cfg)
	bidView := runBidView(t, ctx, cfg)

	run := runToken()
	catalog := make([]schemas.ItemPlaced, items)
	ours := make([]string, items)
	for i := range catalog {
		item := itemWithID(t, fmt.Sprintf("itm-failover-%02d", i)+run)
		ours[i] = item.ItemID
		item.PlacedAt = testNow
		item.EndsAt = endsAt
		item.StartingPrice = schemas.Money{Amount: 1000, Currency: "GBP"}
		item.MinIncrement = schemas.Money{Amount: 100, Currency: "GBP"}
		item.ReservePrice = nil
		catalog[i] = item
	}

	p1 := startFailoverProcessor(t, ctx, "processor 1", cfg, clock)
	p2 := startFailoverProcessor(t, ctx, "processor 2", cfg, clock)
	evs := make([]event.Event, len(catalog))
	for i, item := range catalog {
		evs[i] = itemEvent(t, clock, item)
	}
	publish(t, ctx, prod, schemas.TopicItems, evs...)
	waitFor(t, failoverTimeout, fmt.Sprintf("%d open auctions", items), func() (bool, string) {
		for _, item := range catalog {
			if ok, why := stateIs(view, item.ItemID, func(s *auction.State) bool { return s.Status == auction.StatusOpen }); !ok {
				return false, why
			}
		}
		return true, ""
	})

	// The producer sends one round per tick: a bid per item, each higher than
	// the item's last by at least the increment, from alternating bidders.
	var rounds atomic.Int64
	failedOver := make(chan struct{})
	type produced struct {
		bids []schemas.BidPlaced
		err  error
	}
	prodCtx, stopProducer := context.WithCancel(ctx)
	out := make(chan produced, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() { stopProducer(); wg.Wait() })
	wg.Go(func() {
		var sent []schemas.BidPlaced
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		after := -1 // rounds sent since the failover finished
		for r := range maxRounds {
			evs := make([]event.Event, 0, len(catalog))
			for i, item := range catalog {
				bidder := []string{"usr_alice", "usr_bob"}[(r+i)%2]
				b := mkBid(item, fmt.Sprintf("bid-%02d-%03d", i, r)+run, bidder,
					1000+int64(r)*int64(100+10*i), testNow.Add(time.Duration(r)*time.Second+time.Duration(i)*time.Millisecond))
				e, err := schemas.NewEvent(schemas.TypeBidPlaced, schemas.Meta{
					ID: b.BidID, Source: schemas.Source + "/test", Subject: b.ItemID, Time: clock.Now(),
				}, b)
				if err != nil {
					out <- produced{sent, err}
					return
				}
				evs = append(evs, e)
				sent = append(sent, b)
			}
			if err := prod.PublishEvents(prodCtx, schemas.TopicBids, evs...); err != nil {
				out <- produced{sent, fmt.Errorf("round %d: %w", r, err)}
				return
			}
			rounds.Store(int64(r + 1))
			if after < 0 {
				select {
				case <-failedOver:
					after = 0
				default:
				}
			}
			if after >= 0 {
				if after++; after >= roundsAfter {
					out <- produced{sent, nil}
					return
				}
			}
			select {
			case <-ticker.C:
			case <-prodCtx.Done():
				out <- produced{sent, prodCtx.Err()}
				return
			}
		}
		out <- produced{sent, fmt.Errorf("the failover did not finish within %d rounds", maxRounds)}
	})
	waitRounds := func(n int64) {
		t.Helper()
		waitFor(t, failoverTimeout, fmt.Sprintf("%d rounds of bids sent", n), func() (bool, string) {
			got := rounds.Load()
			return got >= n, fmt.Sprintf("%d rounds", got)
		})
	}

	waitRounds(roundsBefore)
	began := time.Now()
	if err := p1.stop(); err != nil {
		t.Fatalf("stop processor 1: got %v, want nil", err)
	}
	stoppedAt := rounds.Load()
	t.Logf("processor 1 stopped in %s, after round %d", time.Since(began).Round(time.Millisecond), stoppedAt)
	waitRounds(stoppedAt + roundsBetween)
	began = time.Now()
	p1b := startFailoverProcessor(t, ctx, "processor 1'", cfg, clock)
	t.Logf("processor 1' ready in %s, after round %d", time.Since(began).Round(time.Millisecond), rounds.Load())
	close(failedOver)

	var res produced
	select {
	case res = <-out:
	case <-time.After(failoverTimeout):
		t.Fatalf("producer still sending after %s, want it done", failoverTimeout)
	}
	if res.err != nil {
		t.Fatalf("producer: got %v, want nil", res.err)
	}
	sent := res.bids
	t.Logf("sent %d bids in %d rounds", len(sent), len(sent)/items)

	// The reference model: every bid is valid and higher than the last, so
	// every bid is accepted and the last one sent per item wins.
	sentIDs := make(map[string]schemas.BidPlaced, len(sent))
	perItem := map[string][]schemas.BidPlaced{}
	for _, b := range sent {
		sentIDs[b.BidID] = b
		perItem[b.ItemID] = append(perItem[b.ItemID], b)
	}

	// Bids and close-dues travel on different topics, which goka does not
	// order against each other: close only once every bid is decided.
	undecided := slices.Clone(sent)
	waitFor(t, failoverTimeout, "a verdict in auction.bid-status for every bid", func() (bool, string) {
		undecided = slices.DeleteFunc(undecided, func(b schemas.BidPlaced) bool {
			s, err := bidView.Bid(b.BidID)
			return err == nil && s != nil && s.Status != schemas.StatusPending
		})
		if len(undecided) > 0 {
			return false, fmt.Sprintf("%d undecided bids, first %s", len(undecided), undecided[0].BidID)
		}
		return true, ""
	})
	for _, b := range sent {
		s, err := bidView.Bid(b.BidID)
		if err != nil || s == nil || s.Status != schemas.StatusAccepted {
			t.Fatalf("%s: got status %+v (err %v), want accepted", b.BidID, s, err)
		}
	}

	closedAt := endsAt.Add(time.Minute)
	clock.Set(closedAt)
	for i, item := range catalog {
		evs[i] = closeEvent(t, clock, item)
	}
	publish(t, ctx, prod, schemas.TopicBids, evs...)
	waitFor(t, failoverTimeout, fmt.Sprintf("%d closed auctions", items), func() (bool, string) {
		for _, item := range catalog {
			if ok, why := stateIs(view, item.ItemID, func(s *auction.State) bool { return s.Status == auction.StatusClosed }); !ok {
				return false, why
			}
		}
		return true, ""
	})

	// With every processor stopped, the topics hold all they will ever hold.
	for _, p := range []*failoverProcessor{p2, p1b} {
		if err := p.stop(); err != nil {
			t.Fatalf("stop %s: got %v, want nil", p.name, err)
		}
	}

	// Verdicts: one per bid, repeated at most, never changed.
	verdicts := map[string][]verdict{}
	for _, r := range readAll(t, brokers, schemas.TopicBidResults, cfg.Partitions, ours, len(sent)) {
		v := decodeVerdict(t, r)
		if _, ok := sentIDs[v.BidID]; !ok {
			t.Fatalf("got a verdict for %s, a bid never sent", v.BidID)
		}
		if first := verdicts[v.BidID]; len(first) > 0 && !first[0].sameVerdict(v) {
			t.Fatalf("%s: got verdict %+v after %+v, want the same verdict", v.BidID, v, first[0])
		}
		verdicts[v.BidID] = append(verdicts[v.BidID], v)
	}
	dupVerdicts := 0
	for _, b := range sent {
		vs := verdicts[b.BidID]
		if len(vs) == 0 {
			t.Fatalf("got no verdict for %s, want one", b.BidID)
		}
		dupVerdicts += len(vs) - 1
	}
	t.Logf("%d verdicts for %d bids: %d duplicates", len(sent)+dupVerdicts, len(sent), dupVerdicts)

	// Per item, in partition order: accepted bids rise strictly and end at
	// the model's last bid.
	firstSeen := make([]verdict, 0, len(verdicts))
	for _, vs := range verdicts {
		firstSeen = append(firstSeen, vs[0])
	}
	sort.Slice(firstSeen, func(i, j int) bool {
		if firstSeen[i].Partition != firstSeen[j].Partition {
			return firstSeen[i].Partition < firstSeen[j].Partition
		}
		return firstSeen[i].Offset < firstSeen[j].Offset
	})
	accepted := map[string][]verdict{}
	for _, v := range firstSeen {
		if v.Type != schemas.TypeBidAccepted {
			t.Fatalf("%s: got %s (%s: %s), want accepted", v.BidID, v.Type, v.Reason, v.Detail)
		}
		accepted[v.ItemID] = append(accepted[v.ItemID], v)
	}
	for _, item := range catalog {
		model := perItem[item.ItemID]
		got := accepted[item.ItemID]
		if len(got) != len(model) {
			t.Fatalf("%s: got %d accepted bids, want %d", item.ItemID, len(got), len(model))
		}
		for k, v := range got {
			if k > 0 && v.Amount <= got[k-1].Amount {
				t.Fatalf("%s: got %s at %d after %s at %d, want strictly increasing amounts",
					item.ItemID, v.BidID, v.Amount, got[k-1].BidID, got[k-1].Amount)
			}
			if v.BidCount != k+1 {
				t.Fatalf("%s: got bidCount %d for %s, want %d", item.ItemID, v.BidCount, v.BidID, k+1)
			}
		}
		last, want := got[len(got)-1], model[len(model)-1]
		if last.BidID != want.BidID || last.Amount != want.Amount.Amount || last.BidderID != want.Bidder.ID {
			t.Fatalf("%s: got highest %s %d by %s, want %s %d by %s", item.ItemID,
				last.BidID, last.Amount, last.BidderID, want.BidID, want.Amount.Amount, want.Bidder.ID)
		}
		s, err := view.Get(item.ItemID)
		if err != nil || s == nil || s.Highest == nil {
			t.Fatalf("%s: got table row %+v (err %v), want a highest bid", item.ItemID, s, err)
		}
		if s.Highest.BidID != want.BidID || s.BidCount != len(model) {
			t.Fatalf("%s: got table highest %s and bidCount %d, want %s and %d",
				item.ItemID, s.Highest.BidID, s.BidCount, want.BidID, len(model))
		}
	}

	// Completions: exactly one event id per item, sold to the last bidder.
	completions := map[string]map[string][]completion{}
	dupCompletions := 0
	for _, r := range readAll(t, brokers, schemas.TopicItemComplete, cfg.Partitions, ours, items) {
		c := decodeCompletion(t, r)
		byID := completions[c.Data.ItemID]
		if byID == nil {
			byID = map[string][]completion{}
			completions[c.Data.ItemID] = byID
		}
		if prev := byID[c.EventID]; len(prev) > 0 {
			dupCompletions++
			if !sameCompletion(prev[0].Data, c.Data) {
				t.Fatalf("%s: got completion %+v after %+v under the same event id, want the same", c.EventID, c.Data, prev[0].Data)
			}
		}
		byID[c.EventID] = append(byID[c.EventID], c)
	}
	t.Logf("%d completion duplicates", dupCompletions)
	if len(completions) != items {
		t.Fatalf("got completions for %d items, want %d", len(completions), items)
	}
	for _, item := range catalog {
		byID := completions[item.ItemID]
		if len(byID) != 1 {
			t.Fatalf("%s: got %d distinct completion event ids, want 1", item.ItemID, len(byID))
		}
		want := perItem[item.ItemID][len(perItem[item.ItemID])-1]
		got, ok := byID[item.ItemID+".completed"]
		if !ok {
			t.Fatalf("%s: got completion ids %v, want %s.completed", item.ItemID, mapKeys(byID), item.ItemID)
		}
		c := got[0].Data
		if !c.Sold || c.WinnerID != want.Bidder.ID || c.Price == nil || *c.Price != want.Amount ||
			c.BidCount != len(perItem[item.ItemID]) || !c.ClosedAt.Equal(closedAt) {
			t.Fatalf("%s: got sold %v to %s at %v, bidCount %d, closed %s; want sold to %s at %v, bidCount %d, closed %s",
				item.ItemID, c.Sold, c.WinnerID, c.Price, c.BidCount, c.ClosedAt,
				want.Bidder.ID, want.Amount, len(perItem[item.ItemID]), closedAt)
		}
	}
	if n := countKeys(t, brokers, schemas.TopicDeadLetter, cfg.Partitions, ours, 0); n != 0 {
		t.Fatalf("got %d records on %s, want 0", n, schemas.TopicDeadLetter)
	}
}

// failoverClock is a processor clock the test moves by hand.
type failoverClock struct{ ns atomic.Int64 }

func newFailoverClock(at time.Time) *failoverClock {
	c := &failoverClock{}
	c.Set(at)
	return c
}

func (c *failoverClock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *failoverClock) Set(at time.Time) { c.ns.Store(at.UnixNano()) }

// failoverProcessor is a running processor the test can stop.
type failoverProcessor struct {
	name   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startFailoverProcessor runs a processor keeping its table in LevelDB in a
// folder of its own, new and empty, and waits until it is ready. It is
// stopped when t ends if the test has not stopped it.
func startFailoverProcessor(t *testing.T, ctx context.Context, name string, cfg kafkaio.Config, clock *failoverClock) *failoverProcessor {
	t.Helper()
	p, err := auction.New(auction.Config{
		Kafka: cfg, Storage: storage.DefaultBuilder(t.TempDir()),
		Log: slog.New(slog.DiscardHandler), Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("new %s: %v", name, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	fp := &failoverProcessor{name: name, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() { fp.done <- p.Run(runCtx, func() { close(ready) }) }()
	t.Cleanup(func() {
		if err := fp.stop(); err != nil {
			t.Errorf("stop %s: got %v, want nil", name, err)
		}
	})
	select {
	case <-ready:
	case err := <-fp.done:
		fp.done <- err // for stop
		t.Fatalf("%s stopped before it was ready: %v", name, err)
	case <-time.After(failoverTimeout):
		t.Fatalf("%s not ready within %s", name, failoverTimeout)
	}
	return fp
}

// stop cancels the processor and waits for Run to return; later calls
// return the first answer.
func (p *failoverProcessor) stop() error {
	p.once.Do(func() {
		p.cancel()
		select {
		case p.err = <-p.done:
		case <-time.After(failoverTimeout):
			p.err = fmt.Errorf("%s did not stop within %s", p.name, failoverTimeout)
		}
	})
	return p.err
}

func newFailoverProducer(t *testing.T, cfg kafkaio.Config) *kafkaio.Producer {
	t.Helper()
	prod, err := kafkaio.NewProducer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	t.Cleanup(prod.Close)
	return prod
}

// runInBackground runs run until t ends.
func runInBackground(t *testing.T, ctx context.Context, name string, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s stopped with %v, want nil", name, err)
			}
		case <-time.After(failoverTimeout):
			t.Errorf("%s did not stop within %s", name, failoverTimeout)
		}
	})
}

func runTableView(t *testing.T, ctx context.Context, cfg kafkaio.Config) *auction.View {
	t.Helper()
	v, err := auction.NewView(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new view: %v", err)
	}
	runInBackground(t, ctx, "table view", v.Run)
	return v
}

func runBidView(t *testing.T, ctx context.Context, cfg kafkaio.Config) *auction.BidView {
	t.Helper()
	v, err := auction.NewBidView(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new bid view: %v", err)
	}
	runInBackground(t, ctx, "bid view", v.Run)
	return v
}

// waitFor polls cond until it holds, failing t after timeout with cond's
// last account of what it saw.
func waitFor(t *testing.T, timeout time.Duration, want string, cond func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ok, got := cond()
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("got %s after %s, want %s", got, timeout, want)
		}
	}
}

// stateIs reports whether the view's row for itemID satisfies ok, and what
// the row was.
func stateIs(v *auction.View, itemID string, ok func(*auction.State) bool) (bool, string) {
	s, err := v.Get(itemID)
	switch {
	case err != nil:
		return false, fmt.Sprintf("%s: error %v", itemID, err)
	case s == nil:
		return false, fmt.Sprintf("%s: no row", itemID)
	case !ok(s):
		return false, fmt.Sprintf("%s: status %s, bidCount %d, version %d", itemID, s.Status, s.BidCount, s.Version)
	}
	return true, ""
}

func publish(t *testing.T, ctx context.Context, prod *kafkaio.Producer, topic string, evs ...event.Event) {
	t.Helper()
	if err := prod.PublishEvents(ctx, topic, evs...); err != nil {
		t.Fatalf("publish %d events to %s: %v", len(evs), topic, err)
	}
}

func testEvent(t *testing.T, clock *failoverClock, eventType, id, subject string, data any) event.Event {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{
		ID: id, Source: schemas.Source + "/test", Subject: subject, Time: clock.Now(),
	}, data)
	if err != nil {
		t.Fatalf("new %s event: %v", eventType, err)
	}
	return e
}

func itemEvent(t *testing.T, clock *failoverClock, item schemas.ItemPlaced) event.Event {
	t.Helper()
	return testEvent(t, clock, schemas.TypeItemPlaced, "evt-"+item.ItemID, item.ItemID, item)
}

func bidEvent(t *testing.T, clock *failoverClock, b schemas.BidPlaced) event.Event {
	t.Helper()
	return testEvent(t, clock, schemas.TypeBidPlaced, b.BidID, b.ItemID, b)
}

// closeEvent is the closer's close-due for item, thirty seconds of grace
// after its end.
func closeEvent(t *testing.T, clock *failoverClock, item schemas.ItemPlaced) event.Event {
	t.Helper()
	return testEvent(t, clock, schemas.TypeCloseDue, "close-"+item.ItemID, item.ItemID, schemas.CloseDue{
		ItemID: item.ItemID, EndsAt: item.EndsAt, CloseAt: item.EndsAt.Add(30 * time.Second),
	})
}

// readAll reads every record ever written to topic with one of keys, at
// least atLeast of them, in partition and offset order. On the embedded
// broker, which only this test writes to, those must be all the topic holds.
func readAll(t *testing.T, brokers []string, topic string, partitions int, keys []string, atLeast int) []kafkatest.Record {
	t.Helper()
	recs := kafkatest.ReadKeys(t, brokers, topic, keys, atLeast, failoverTimeout)
	if !kafkatest.Real() {
		if n := kafkatest.Count(t, brokers, topic, partitions); n != int64(len(recs)) {
			t.Fatalf("got %d records on %s, %d of them with the test's keys; want only those", n, topic, len(recs))
		}
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
	return recs
}

// verdict is a bid-results record, accepted or rejected, decoded.
type verdict struct {
	EventID   string
	Type      string
	BidID     string
	ItemID    string
	BidderID  string
	Amount    int64
	BidCount  int
	Reason    schemas.RejectReason
	Detail    string
	Partition int32
	Offset    int64
}

// sameVerdict compares what was decided, not when or where it was written.
func (v verdict) sameVerdict(o verdict) bool {
	return v.EventID == o.EventID && v.Type == o.Type && v.BidID == o.BidID && v.ItemID == o.ItemID &&
		v.BidderID == o.BidderID && v.Amount == o.Amount && v.BidCount == o.BidCount && v.Reason == o.Reason
}

func decodeVerdict(t *testing.T, r kafkatest.Record) verdict {
	t.Helper()
	e, err := cekafka.Decode(r.Message)
	if err != nil {
		t.Fatalf("decode %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
	}
	v := verdict{EventID: e.ID(), Type: e.Type(), Partition: r.Partition, Offset: r.Offset}
	switch e.Type() {
	case schemas.TypeBidAccepted:
		d, err := schemas.Data[schemas.BidAccepted](e, e.Type())
		if err != nil {
			t.Fatalf("decode %s: %v", e.ID(), err)
		}
		v.BidID, v.ItemID, v.BidderID, v.Amount, v.BidCount = d.BidID, d.ItemID, d.BidderID, d.Amount.Amount, d.BidCount
	case schemas.TypeBidRejected:
		d, err := schemas.Data[schemas.BidRejected](e, e.Type())
		if err != nil {
			t.Fatalf("decode %s: %v", e.ID(), err)
		}
		v.BidID, v.ItemID, v.BidderID, v.Amount, v.Reason, v.Detail = d.BidID, d.ItemID, d.BidderID, d.Amount.Amount, d.Reason, d.Detail
	default:
		t.Fatalf("got %s on %s, want a verdict", e.Type(), r.Topic)
	}
	if v.EventID != v.BidID+".result" || string(r.Key) != v.ItemID {
		t.Fatalf("got verdict id %s under key %s, want %s.result under %s", v.EventID, r.Key, v.BidID, v.ItemID)
	}
	return v
}

// completion is an item-complete record decoded.
type completion struct {
	EventID string
	Data    schemas.ItemCompleted
}

func decodeCompletion(t *testing.T, r kafkatest.Record) completion {
	t.Helper()
	e, err := cekafka.Decode(r.Message)
	if err != nil {
		t.Fatalf("decode %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
	}
	d, err := schemas.Data[schemas.ItemCompleted](e, schemas.TypeItemCompleted)
	if err != nil {
		t.Fatalf("decode %s: %v", e.ID(), err)
	}
	if string(r.Key) != d.ItemID {
		t.Fatalf("got completion of %s under key %s, want the item id", d.ItemID, r.Key)
	}
	return completion{EventID: e.ID(), Data: d}
}

func sameCompletion(a, b schemas.ItemCompleted) bool {
	samePrice := (a.Price == nil) == (b.Price == nil) && (a.Price == nil || *a.Price == *b.Price)
	return a.ItemID == b.ItemID && a.SellerID == b.SellerID && a.Title == b.Title && a.Category == b.Category &&
		a.Sold == b.Sold && a.WinnerID == b.WinnerID && samePrice && a.ReserveMet == b.ReserveMet &&
		a.BidCount == b.BidCount && slices.Equal(a.Bidders, b.Bidders) &&
		a.EndsAt.Equal(b.EndsAt) && a.ClosedAt.Equal(b.ClosedAt)
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

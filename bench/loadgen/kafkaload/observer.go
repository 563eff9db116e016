// Package kafkaload measures what HTTP alone cannot: the latency from a
// bid's acceptance at the edge to the processor's verdict, and from an
// auction's closing time to its item-complete event (Observer, reading
// auction.bid-results, the close-dues on auction.bids and
// auction.item-complete), and the raw produce and consume throughput of the
// broker underneath, with the platform's own client settings (Baseline):
// the physical limit the pipeline is compared with.
//
// Latencies are differences of event timestamps (the edge stamps a bid's
// placedAt, the processor the verdict's time, the closer the closeAt of a
// close-due), so they are exact on one machine and as good as the clocks'
// agreement across machines.
package kafkaload

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/bench/loadgen"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Observer tails the result topics from where they stand when it starts and
// measures the events of the items it tracks. Events of other items (other
// runs, other users of a shared cluster) are ignored.
type Observer struct {
	r   *kafkaio.Reader
	log *slog.Logger

	verdicts    *loadgen.Recorder // verdict time − placedAt
	closes      *loadgen.Recorder // item-complete time − closeAt
	closeDueLag *loadgen.Recorder // close-due time − closeAt

	mu        sync.Mutex
	items     map[string]bool
	closeAt   map[string]time.Time
	completed map[string]time.Time
	seenBids  map[string]bool
	decided   int64
	firstBid  time.Time // earliest placedAt of a decided bid
	lastVerd  time.Time // latest verdict time
	changed   chan struct{}
}

// E2E is what an Observer measured.
type E2E struct {
	// Verdict is from a bid's placedAt (stamped by the edge as it accepts
	// the request) to the time of its accepted or rejected event.
	Verdict loadgen.Summary `json:"verdict"`
	// Close is from an auction's endsAt + grace to its item-complete event;
	// CloseDue the part of that the closer's own timer took.
	Close    loadgen.Summary `json:"close"`
	CloseDue loadgen.Summary `json:"closeDue"`
	// Decided counts verdicts; DecidedPerSecond is that over the span from
	// the first decided bid's placedAt to the last verdict.
	Decided          int64   `json:"decided"`
	DecidedPerSecond float64 `json:"decidedPerSecond"`
	Completed        int     `json:"completed"`
}

// topics the observer reads.
// auction.bids is read for the close-dues among the bids (see isCloseDue).
var observed = []string{schemas.TopicBidResults, schemas.TopicBids, schemas.TopicItemComplete}

// NewObserver positions a consumer at the end of every partition of the
// observed topics: what is written after NewObserver returns is seen.
func NewObserver(cfg kafkaio.Config, log *slog.Logger) (*Observer, error) {
	r, err := kafkaio.NewReader(cfg, "loadgen-observer", nil, log)
	if err != nil {
		return nil, fmt.Errorf("observer consumer: %w", err)
	}
	if err := r.Assign(kafkaio.FromEnd, observed...); err != nil {
		r.Close()
		return nil, fmt.Errorf("observer: %w; is the platform running on these brokers?", err)
	}
	return &Observer{
		r: r, log: log,
		verdicts: loadgen.NewRecorder(), closes: loadgen.NewRecorder(), closeDueLag: loadgen.NewRecorder(),
		items: map[string]bool{}, closeAt: map[string]time.Time{}, completed: map[string]time.Time{},
		seenBids: map[string]bool{}, changed: make(chan struct{}),
	}, nil
}

// Track adds an item whose events are measured. Track it before its first
// bid is written.
func (o *Observer) Track(itemIDs ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range itemIDs {
		o.items[id] = true
	}
}

// Run reads until ctx ends, then closes the consumer.
func (o *Observer) Run(ctx context.Context) error {
	defer o.r.Close()
	if err := o.r.Read(ctx, func(m *kafka.Message) bool { o.handle(m); return true }); err != nil {
		return fmt.Errorf("observer: %w", err)
	}
	return nil
}

func (o *Observer) handle(m *kafka.Message) {
	o.mu.Lock()
	tracked := o.items[string(m.Key)]
	o.mu.Unlock()
	if !tracked || (*m.TopicPartition.Topic == schemas.TopicBids && !isCloseDue(m.Headers)) {
		return
	}
	e, err := cekafka.Decode(cekafka.Message{Key: m.Key, Value: m.Value, Headers: kafkaio.FromKafkaHeaders(m.Headers)})
	if err != nil {
		o.log.Debug("observer: undecodable record", "topic", *m.TopicPartition.Topic, "err", err)
		return
	}
	at := e.Time()
	o.mu.Lock()
	defer o.mu.Unlock()
	defer o.notify()
	switch e.Type() {
	case schemas.TypeBidAccepted, schemas.TypeBidRejected:
		var v struct {
			BidID    string    `json:"bidId"`
			PlacedAt time.Time `json:"placedAt"`
		}
		if err := jsonData(e.Data(), &v); err != nil || o.seenBids[v.BidID] {
			return // a redelivered verdict is the same decision, counted once
		}
		o.seenBids[v.BidID] = true
		o.verdicts.Record(at.Sub(v.PlacedAt))
		o.decided++
		if o.firstBid.IsZero() || v.PlacedAt.Before(o.firstBid) {
			o.firstBid = v.PlacedAt
		}
		if at.After(o.lastVerd) {
			o.lastVerd = at
		}
	case schemas.TypeCloseDue:
		v, err := schemas.Data[schemas.CloseDue](e, e.Type())
		if err != nil {
			return
		}
		if _, seen := o.closeAt[v.ItemID]; seen {
			return
		}
		o.closeAt[v.ItemID] = v.CloseAt
		o.closeDueLag.Record(at.Sub(v.CloseAt))
		o.pair(v.ItemID)
	case schemas.TypeItemCompleted:
		v, err := schemas.Data[schemas.ItemCompleted](e, e.Type())
		if err != nil {
			return
		}
		if _, seen := o.completed[v.ItemID]; seen {
			return
		}
		o.completed[v.ItemID] = at
		o.pair(v.ItemID)
	}
}

// isCloseDue tells a close-due among the bids on auction.bids by its
// ce_type header, so the bids themselves are never decoded.
func isCloseDue(hs []kafka.Header) bool {
	for _, h := range hs {
		if h.Key == "ce_type" {
			return string(h.Value) == schemas.TypeCloseDue
		}
	}
	return false
}

// pair records an auction's close latency once both its close-due and its
// completion were seen (in either order: they are on different topics).
func (o *Observer) pair(itemID string) {
	closeAt, ok1 := o.closeAt[itemID]
	done, ok2 := o.completed[itemID]
	if ok1 && ok2 {
		o.closes.Record(done.Sub(closeAt))
	}
}

// notify wakes whoever waits for progress; o.mu is held.
func (o *Observer) notify() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// Wait blocks until at least decided verdicts and completed auctions have
// been seen, or ctx ends.
func (o *Observer) Wait(ctx context.Context, decided int64, completed int) error {
	for {
		o.mu.Lock()
		n, c, ch := o.decided, o.countCompleted(), o.changed
		o.mu.Unlock()
		if n >= decided && c >= completed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("observer saw %d of %d verdicts and %d of %d completions: %w", n, decided, c, completed, ctx.Err())
		case <-ch:
		}
	}
}

func (o *Observer) countCompleted() int {
	n := 0
	for id := range o.completed {
		if _, ok := o.closeAt[id]; ok {
			n++
		}
	}
	return n
}

// Result is what was measured so far.
func (o *Observer) Result() E2E {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := E2E{Verdict: o.verdicts.Summary(), Close: o.closes.Summary(), CloseDue: o.closeDueLag.Summary(),
		Decided: o.decided, Completed: o.countCompleted()}
	if span := o.lastVerd.Sub(o.firstBid).Seconds(); span > 0 {
		r.DecidedPerSecond = float64(o.decided) / span
	}
	return r
}

// Package live follows the processor's decisions as they happen, for the
// HTTP API: it tails auction.bid-results and auction.item-complete and hands
// each verdict to whoever waits for that bid (Prefer: wait) and each update
// to whoever watches that item (Server-Sent Events).
//
// Every gateway replica tails every partition from the end, with no consumer
// group: this is a broadcast, not work to share. It remembers nothing; the
// durable answers are in the log and the processor's table.
package live

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Update is one decision about an item: exactly one field is set.
type Update struct {
	Accepted  *schemas.BidAccepted
	Rejected  *schemas.BidRejected
	Completed *schemas.ItemCompleted
}

// Hub fans decisions out to waiters and watchers.
type Hub struct {
	cfg kafkaio.Config
	log *slog.Logger

	ready chan struct{}

	mu       sync.Mutex
	waiters  map[string][]chan Update        // by bid id
	watchers map[string]map[chan Update]bool // by item id
}

// New returns a hub; Run starts tailing.
func New(cfg kafkaio.Config, log *slog.Logger) *Hub {
	return &Hub{cfg: cfg, log: log, ready: make(chan struct{}),
		waiters: map[string][]chan Update{}, watchers: map[string]map[chan Update]bool{}}
}

// Ready is closed once the hub is positioned at the end of every partition:
// decisions made after that are seen.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run tails the result topics until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	r, err := kafkaio.NewReader(h.cfg, "auction-live", kafka.ConfigMap{
		"client.id": h.cfg.ClientID + "-live",
	}, h.log)
	if err != nil {
		return fmt.Errorf("live consumer: %w", err)
	}
	defer r.Close()
	if err := r.Assign(kafkaio.FromEnd, schemas.TopicBidResults, schemas.TopicItemComplete); err != nil {
		return fmt.Errorf("live consumer: %w", err)
	}
	close(h.ready)
	if err := r.Read(ctx, func(m *kafka.Message) bool { h.dispatch(m); return true }); err != nil {
		return fmt.Errorf("live consumer: %w", err)
	}
	return nil
}

func (h *Hub) dispatch(m *kafka.Message) {
	msg := cekafka.Message{Key: m.Key, Value: m.Value, Headers: kafkaio.FromKafkaHeaders(m.Headers)}
	r, err := schemas.Read(*m.TopicPartition.Topic, msg)
	if err != nil {
		return // not ours to dead-letter: the processor wrote it, other consumers judge it
	}
	var (
		u           Update
		bidID, item string
	)
	switch d := r.Data.(type) {
	case *schemas.BidAccepted:
		u.Accepted, bidID, item = d, d.BidID, d.ItemID
	case *schemas.BidRejected:
		u.Rejected, bidID, item = d, d.BidID, d.ItemID
	case *schemas.ItemCompleted:
		u.Completed, item = d, d.ItemID
	default:
		return
	}
	h.publish(bidID, item, u)
}

func (h *Hub) publish(bidID, itemID string, u Update) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if bidID != "" {
		for _, ch := range h.waiters[bidID] {
			ch <- u // buffered for exactly one verdict
		}
		delete(h.waiters, bidID)
	}
	for ch := range h.watchers[itemID] {
		select {
		case ch <- u:
		default:
			// A watcher that cannot keep up loses updates rather than
			// slowing every other watcher; it can re-read the item.
		}
	}
}

// Expect registers interest in bidID's verdict. Call it before the bid is
// written, so a fast verdict cannot slip past; then wait on the channel.
// cancel forgets the interest.
func (h *Hub) Expect(bidID string) (verdict <-chan Update, cancel func()) {
	ch := make(chan Update, 1)
	h.mu.Lock()
	h.waiters[bidID] = append(h.waiters[bidID], ch)
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		list := h.waiters[bidID]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(h.waiters, bidID)
		} else {
			h.waiters[bidID] = list
		}
	}
}

// Watch subscribes to an item's updates until cancel is called.
func (h *Hub) Watch(itemID string) (updates <-chan Update, cancel func()) {
	ch := make(chan Update, 64)
	h.mu.Lock()
	if h.watchers[itemID] == nil {
		h.watchers[itemID] = map[chan Update]bool{}
	}
	h.watchers[itemID][ch] = true
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.watchers[itemID], ch)
		if len(h.watchers[itemID]) == 0 {
			delete(h.watchers, itemID)
		}
	}
}

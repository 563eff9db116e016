// Package lineage is the out-of-band function that keeps the story of every
// auction: each event of the flow — item placed, bids, verdicts, close-due,
// completion, notifications, the analytics count — indexed by its
// correlation id (the item) with where it sits in the log and what caused
// it. GET /v1/items/{itemId}/lineage reads it back as a causal chain.
//
// In: every topic of Topics, through the Kafka trigger in its own consumer
// group. Out: the Store. It reads only CloudEvents attributes and headers,
// never the data, so it follows new event types without a change. It is an
// observer: a record that is not a CloudEvent, or carries no correlation
// id, is counted and skipped, never dead-lettered — that is the business of
// the topic's real consumers.
package lineage

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Topics are the topics whose events make up an auction's lineage, in flow
// order (which also breaks ties between events of the same time).
func Topics() []string {
	return []string{schemas.TopicItems, schemas.TopicBids, schemas.TopicRejected, schemas.TopicBidResults,
		schemas.TopicItemComplete, schemas.TopicNotifications, schemas.TopicAnalytics}
}

// Entry is one event of an auction's lineage.
type Entry struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Source        string    `json:"source"`
	Subject       string    `json:"subject,omitempty"`
	Time          time.Time `json:"time"`
	CorrelationID string    `json:"correlationId"`
	// CausationID is the id of the event that caused this one; "" for an
	// event caused by a request (an item placed).
	CausationID string `json:"causationId,omitempty"`
	// TraceID is the trace of the span that wrote the event.
	TraceID   string `json:"traceId,omitempty"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Store keeps entries by correlation id.
type Store interface {
	// Record stores entries. It is idempotent per (CorrelationID, ID): an
	// event written or delivered again keeps its first entry.
	Record(ctx context.Context, entries []Entry) error
	// Chain returns the entries of one correlation id, in Order; none is
	// not an error.
	Chain(ctx context.Context, correlationID string) ([]Entry, error)
}

// ErrNotEvent marks a record that is not a CloudEvent with a correlation id.
var ErrNotEvent = errors.New("not a correlated CloudEvent")

// FromRecord reads the lineage entry of one record.
func FromRecord(rec trigger.Record) (Entry, error) {
	e, err := cekafka.Decode(rec.Message)
	if err != nil {
		return Entry{}, errors.Join(ErrNotEvent, err)
	}
	corr, _ := e.Extensions()[schemas.ExtCorrelationID].(string)
	if corr == "" {
		return Entry{}, ErrNotEvent
	}
	cause, _ := e.Extensions()[schemas.ExtCausationID].(string)
	return Entry{
		ID: e.ID(), Type: e.Type(), Source: e.Source(), Subject: e.Subject(), Time: e.Time().UTC(),
		CorrelationID: corr, CausationID: cause, TraceID: telemetry.TraceIDOf(rec.Headers),
		Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
	}, nil
}

// Handler returns the trigger handler that records every batch in store.
func Handler(store Store, log *slog.Logger) trigger.Handler {
	return func(ctx context.Context, batch []trigger.Record) error {
		entries := make([]Entry, 0, len(batch))
		for _, rec := range batch {
			e, err := FromRecord(rec)
			if err != nil {
				log.DebugContext(ctx, "record skipped: no lineage", "topic", rec.Topic,
					"partition", rec.Partition, "offset", rec.Offset, "err", err)
				continue
			}
			entries = append(entries, e)
		}
		if len(entries) == 0 {
			return nil
		}
		return store.Record(ctx, entries)
	}
}

// topicRank is each topic's place in Topics.
var topicRank = func() map[string]int {
	rank := map[string]int{}
	for i, t := range Topics() {
		rank[t] = i
	}
	return rank
}()

// Order sorts entries as a chain reads: by event time, then in flow order
// of their topics, then by offset.
func Order(entries []Entry) {
	slices.SortStableFunc(entries, func(a, b Entry) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(topicRank[a.Topic], topicRank[b.Topic]),
			cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
}

// Memory is a Store in memory, for the embedded platform and tests.
type Memory struct {
	mu     sync.Mutex
	chains map[string]map[string]Entry
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{chains: map[string]map[string]Entry{}} }

// Record implements Store.
func (m *Memory) Record(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range entries {
		chain := m.chains[e.CorrelationID]
		if chain == nil {
			chain = map[string]Entry{}
			m.chains[e.CorrelationID] = chain
		}
		if _, ok := chain[e.ID]; !ok {
			chain[e.ID] = e
		}
	}
	return nil
}

// Chain implements Store.
func (m *Memory) Chain(_ context.Context, correlationID string) ([]Entry, error) {
	m.mu.Lock()
	out := make([]Entry, 0, len(m.chains[correlationID]))
	for _, e := range m.chains[correlationID] {
		out = append(out, e)
	}
	m.mu.Unlock()
	Order(out)
	return out, nil
}

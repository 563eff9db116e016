package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// Writer writes records and returns once the cluster has acknowledged them.
// The trigger writes dead letters through it; *kafkaio.Producer is one.
type Writer interface {
	Write(ctx context.Context, recs ...kafkaio.Record) error
}

var _ Writer = (*kafkaio.Producer)(nil)

// Defaults of Config. They follow AWS Lambda's Kafka event source mapping
// where it has one, because that is what the article's numbers assume.
const (
	// DefaultBatchSize is Lambda's default. A warm cloud function costs
	// 100–200 ms per call whatever it carries, so a call should carry many
	// records; 100 already spreads that cost thin (~2 ms a record), while a
	// failing batch stays small enough to bisect in seven calls. For raw
	// throughput, raise it: the article's 5 functions × 1,000 events per
	// 200 ms are 25,000 events/s with BatchSize 1000, BatchWindow 200 ms.
	DefaultBatchSize = 100
	// DefaultBatchWindow is how long a batch waits for company after its
	// first record. It is the latency a lone record pays for batching: 50 ms
	// is small next to the 250 ms a user waits for an email, and under load a
	// batch fills up long before it.
	DefaultBatchWindow = 50 * time.Millisecond
	// DefaultMaxRetries with DefaultRetryBackoff gives a failing record
	// 100 + 200 + 400 ms to recover: enough for a broker failover or a
	// throttled table call to pass, short enough that a poison record holds
	// its partition for under a second before it is dead-lettered.
	DefaultMaxRetries   = 3
	DefaultRetryBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff caps the doubling, so that a generous MaxRetries
	// still retries every few seconds rather than every few hours.
	DefaultMaxBackoff = 5 * time.Second
	// DefaultShutdownTimeout is how long a partition being revoked (or a
	// trigger stopping) lets its running call finish before cancelling its
	// context. It blocks the rebalance, so it stays far below librdkafka's
	// max.poll.interval.ms (300 s) and the group's patience.
	DefaultShutdownTimeout = 10 * time.Second
	// MinPrefetch is the least Prefetch defaults to, in records. Pausing a
	// partition costs a round trip: librdkafka drops what it had fetched
	// for it, and its records come back some hundreds of milliseconds after
	// the resume (measured: 350–700 ms, on Kafka 4.4 and the embedded
	// broker alike). What is left in hand at the resume must outlast that,
	// or the handler runs dry; 4,096 bid-sized records are ~3 MB.
	MinPrefetch = 4096
)

// Config binds a Handler to topics. Zero values take the defaults above.
type Config struct {
	// Kafka is the cluster: Brokers and ClientID, and DeliveryTimeout for
	// the dead-letter producer Run opens when DeadLetter is nil.
	Kafka kafkaio.Config
	// Group is the consumer group. Instances with the same Group share the
	// partitions; the group's committed offsets are what has been processed.
	Group string
	// Topics are read together; each partition of each topic is a stream
	// of its own, processed in order.
	Topics []string

	// BatchSize is the most records one call gets (default 100).
	BatchSize int
	// BatchWindow is how long a batch waits to fill up after its first
	// record arrived (default 50 ms). A full batch goes at once.
	BatchWindow time.Duration
	// Prefetch is how many records of a partition may wait for its handler,
	// beyond the batch it is collecting, before the partition's fetching is
	// paused; fetching resumes when half of them are left. It bounds memory
	// (Prefetch × record size per partition) and must stay deep enough to
	// keep the handler busy across a pause (default: 8 batches, at least
	// MinPrefetch records).
	Prefetch int

	// MaxRetries is how often a record that fails on its own is retried
	// before it is dead-lettered (default 3; negative: never retried).
	MaxRetries int
	// RetryBackoff is the wait before the first retry; it doubles with each
	// further one, up to MaxBackoff (defaults 100 ms and 5 s).
	RetryBackoff, MaxBackoff time.Duration
	// MaxRecordAge, if positive, sends a failing record older than this
	// straight to the dead-letter topic instead of retrying it, so that a
	// partition far behind catches up rather than waiting on stale work.
	// Records that succeed are processed however old (default 0: no limit).
	MaxRecordAge time.Duration
	// ShutdownTimeout bounds how long a revoked or stopping partition waits
	// for its running call before cancelling its context (default 10 s).
	ShutdownTimeout time.Duration

	// Name names the function in logs and in the dlq-consumer header of its
	// dead letters (default: Group).
	Name string
	// Log receives the trigger's logs (default: discarded).
	Log *slog.Logger
	// DeadLetter writes records that cannot be processed. Nil: Run opens a
	// kafkaio.Producer on Kafka and closes it when it returns.
	DeadLetter Writer
	// DeadLetterTopic is where they go (default auction.dead-letter).
	DeadLetterTopic string

	// Middleware wrap the Handler inside the platform's own, the first
	// outermost: every call a retry or a bisection makes goes through them,
	// in the call's span, and a panic in them is recovered like one of the
	// Handler's. See the package doc for the whole stack.
	Middleware []Middleware
}

// withDefaults checks c and fills in what is left zero.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("no Kafka brokers"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("no consumer group"))
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("no topics"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"BatchWindow", c.BatchWindow}, {"RetryBackoff", c.RetryBackoff}, {"MaxBackoff", c.MaxBackoff},
		{"MaxRecordAge", c.MaxRecordAge}, {"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %s, want >= 0", d.name, d.v))
		}
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("BatchSize is %d, want >= 0", c.BatchSize))
	}
	if c.Prefetch < 0 {
		errs = append(errs, fmt.Errorf("Config.Prefetch is %d, want >= 0", c.Prefetch))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("trigger config: %w", err)
	}

	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = DefaultBatchWindow
	}
	if c.Prefetch == 0 {
		c.Prefetch = max(8*c.BatchSize, MinPrefetch)
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.RetryBackoff)
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Name == "" {
		c.Name = c.Group
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = schemas.TopicDeadLetter
	}
	return c, nil
}

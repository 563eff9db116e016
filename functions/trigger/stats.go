package trigger

import (
	"context"
	"math/bits"
	"sync/atomic"
	"time"
)

// Stats are a trigger's counters since New, for tests and metrics.
type Stats struct {
	// Assigned is the number of partitions the trigger owns right now.
	Assigned int
	// Batches counts batches read from partitions. A failing batch is split
	// and retried, so it may take several calls.
	Batches int64
	// Invocations counts handler calls; Records the records they carried
	// (a record retried three times counts three times).
	Invocations, Records int64
	// Processed counts records a call completed; DeadLettered those written
	// to the dead-letter topic instead. Together: records done.
	Processed, DeadLettered int64
	// Splits counts failed calls whose batch was bisected; Retries counts
	// calls that repeat a record after it failed (with backoff).
	Splits, Retries int64
	// Pauses counts how often a partition was paused because its handler
	// fell behind (its inbox was full) while other partitions kept flowing.
	Pauses int64
	// CommitErrors counts failed offset commits. Each later commit covers
	// the records of a failed one; until then a restart reprocesses them.
	CommitErrors int64
	// LastBatch and MaxBatch are the size of the latest and the largest call.
	LastBatch, MaxBatch int
	// MaxConcurrent is the most calls that were running at once, over all
	// partitions: more than 1 shows partitions running in parallel.
	MaxConcurrent int
	// BatchSizes is a histogram of call sizes: BatchSizes[i] counts the
	// calls with 2^(i-1) < size <= 2^i (so [0] is size 1, [1] size 2,
	// [2] sizes 3–4, ..., [10] sizes 513–1,024); the last bucket takes the rest.
	BatchSizes [sizeBuckets]int64
	// CallDurations is a histogram of how long calls took: CallDurations[i]
	// counts the calls with 2^(i-1) ms < duration <= 2^i ms (so [0] is up to
	// 1 ms, [10] up to 1.024 s); the last bucket takes the rest.
	// CallTime is their total.
	CallDurations [durationBuckets]int64
	CallTime      time.Duration
}

const (
	sizeBuckets     = 16
	durationBuckets = 16
)

// SizeBound is the largest call size counted in bucket i of BatchSizes.
// The last bucket has no bound.
func SizeBound(i int) int { return 1 << i }

// DurationBound is the longest call counted in bucket i of CallDurations.
// The last bucket has no bound.
func DurationBound(i int) time.Duration { return time.Millisecond << i }

// counters are the live Stats, updated from every partition's goroutine.
type counters struct {
	assigned                      atomic.Int64
	batches, invocations, records atomic.Int64
	processed, deadLettered       atomic.Int64
	splits, retries, commitErrors atomic.Int64
	pauses                        atomic.Int64
	lastBatch, maxBatch           atomic.Int64
	running, maxConcurrent        atomic.Int64
	sizes                         [sizeBuckets]atomic.Int64
	durations                     [durationBuckets]atomic.Int64
	callTime                      atomic.Int64 // nanoseconds
}

// called records the start of a call of n records; it returns the function
// that records its end.
func (c *counters) called(n int) (returned func()) {
	c.invocations.Add(1)
	c.records.Add(int64(n))
	c.lastBatch.Store(int64(n))
	raise(&c.maxBatch, int64(n))
	c.sizes[sizeBucket(n)].Add(1)
	raise(&c.maxConcurrent, c.running.Add(1))
	start := time.Now()
	return func() {
		d := time.Since(start)
		c.durations[durationBucket(d)].Add(1)
		c.callTime.Add(int64(d))
		c.running.Add(-1)
	}
}

// count is the middleware that counts each call of next in c.
func (c *counters) count(next Handler) Handler {
	return func(ctx context.Context, batch []Record) error {
		defer c.called(len(batch))()
		return next(ctx, batch)
	}
}

// durationBucket is the histogram bucket of a call that took d.
func durationBucket(d time.Duration) int {
	ms := (d + time.Millisecond - 1) / time.Millisecond // rounded up
	if ms <= 1 {
		return 0
	}
	return min(bits.Len64(uint64(ms-1)), durationBuckets-1)
}

// sizeBucket is the histogram bucket of a call of n records: ceil(log2 n).
func sizeBucket(n int) int {
	if n <= 1 {
		return 0
	}
	return min(bits.Len(uint(n-1)), sizeBuckets-1)
}

// raise sets v to n if n is larger.
func raise(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Assigned:      int(c.assigned.Load()),
		Batches:       c.batches.Load(),
		Invocations:   c.invocations.Load(),
		Records:       c.records.Load(),
		Processed:     c.processed.Load(),
		DeadLettered:  c.deadLettered.Load(),
		Splits:        c.splits.Load(),
		Retries:       c.retries.Load(),
		Pauses:        c.pauses.Load(),
		CommitErrors:  c.commitErrors.Load(),
		LastBatch:     int(c.lastBatch.Load()),
		MaxBatch:      int(c.maxBatch.Load()),
		MaxConcurrent: int(c.maxConcurrent.Load()),
	}
	for i := range c.sizes {
		s.BatchSizes[i] = c.sizes[i].Load()
	}
	for i := range c.durations {
		s.CallDurations[i] = c.durations[i].Load()
	}
	s.CallTime = time.Duration(c.callTime.Load())
	return s
}

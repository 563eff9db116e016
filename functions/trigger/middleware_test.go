package trigger_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
)

// The middleware tests call each middleware on a fake handler, with a fake
// clock: no Kafka, no waiting.

// batchOf returns n records of topic "t" at offsets 0 to n-1, written at.
func batchOf(n int, at time.Time) []trigger.Record {
	recs := make([]trigger.Record, n)
	for i := range recs {
		recs[i] = trigger.Record{Topic: "t", Offset: int64(i), Timestamp: at}
		recs[i].Value = []byte(strconv.Itoa(i))
	}
	return recs
}

// fake is a handler that notes each call as "first-last" offsets and
// answers it with answer (nil: success).
type fake struct {
	mu     sync.Mutex
	calls  []string
	answer func(call []trigger.Record) error
}

func (f *fake) handle(_ context.Context, call []trigger.Record) error {
	f.mu.Lock()
	f.calls = append(f.calls, offsets(call))
	answer := f.answer
	f.mu.Unlock()
	if answer == nil {
		return nil
	}
	return answer(call)
}

func (f *fake) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// offsets names a call by its first and last offsets.
func offsets(call []trigger.Record) string {
	return fmt.Sprintf("%d-%d", call[0].Offset, call[len(call)-1].Offset)
}

// holding fails every call that holds offset bad with err.
func holding(bad int64, err error) func([]trigger.Record) error {
	return func(call []trigger.Record) error {
		for _, r := range call {
			if r.Offset == bad {
				return err
			}
		}
		return nil
	}
}

// clock is a fake clock for trigger.Pacing: it is always now, and each
// wait is noted and over at once, the first goOn of them going on.
type clock struct {
	now   time.Time
	goOn  int
	waits []time.Duration
}

func (c *clock) pacing(backoff, most time.Duration) trigger.Pacing {
	return trigger.Pacing{Backoff: backoff, MaxBackoff: most, Now: func() time.Time { return c.now }, Wait: c.wait}
}

func (c *clock) wait(_ context.Context, d time.Duration) bool {
	c.waits = append(c.waits, d)
	return len(c.waits) <= c.goOn
}

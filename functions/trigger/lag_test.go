package trigger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/auctionflow/auction/functions/trigger"
)

// TestLags: records a blocked handler has not completed show as lag on
// their partition, and the lag drops to zero once they are processed.
func TestLags(t *testing.T) {
	e := newEnv(t)
	topic := e.topic(t, "in", 2)
	release := make(chan struct{})
	r := start(t, e.config(topic, name(t, "group")), func(ctx context.Context, _ []trigger.Record) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	// One key: every record lands on one partition.
	e.write(t, topic, plain(0, 5, 1)...)

	lagOf := func() map[int32]int64 {
		out := map[int32]int64{}
		for _, l := range r.Lags() {
			if l.Topic == topic {
				out[l.Partition] = l.Records
			}
		}
		return out
	}
	eventually(t, "5 records of lag on one partition, none on the other", func() bool {
		l := lagOf()
		return len(l) == 2 && (l[0] == 5 && l[1] == 0 || l[0] == 0 && l[1] == 5)
	})
	close(release)
	eventually(t, "no lag once processed", func() bool {
		return fmt.Sprint(lagOf()) == "map[0:0 1:0]"
	})
	r.stop(t)
	if got := r.Lags(); got != nil {
		t.Fatalf("Lags after Run returned: got %+v, want none", got)
	}
}

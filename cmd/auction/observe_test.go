package main

import (
	"slices"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
)

// TestTriggerStats: the metrics get a trigger's histograms with the bounds
// the trigger counts them by, and every counter under its own name.
func TestTriggerStats(t *testing.T) {
	var s trigger.Stats
	s.Assigned, s.Invocations, s.Records, s.DeadLettered, s.CommitErrors = 2, 3, 5, 1, 4
	s.BatchSizes[0], s.BatchSizes[2] = 1, 2       // sizes 1, 2 and 2
	s.CallDurations[0], s.CallDurations[3] = 2, 1 // up to 1 ms, up to 8 ms
	s.CallTime = 10 * time.Millisecond
	got := triggerStats(s)

	if got.Assigned != 2 || got.Invocations != 3 || got.Records != 5 || got.DeadLettered != 1 || got.CommitErrors != 4 {
		t.Errorf("counters: got %+v, want assigned 2, invocations 3, records 5, dead letters 1, commit errors 4", got)
	}
	b := got.BatchSizes
	if len(b.Bounds) != len(s.BatchSizes)-1 || b.Bounds[0] != 1 || b.Bounds[2] != 4 || b.Sum != 5 || !slices.Equal(b.Counts, s.BatchSizes[:]) {
		t.Errorf("batch sizes: got %+v, want bounds 1, 2, 4, ..., the trigger's counts and sum 5", b)
	}
	d := got.CallDurations
	if len(d.Bounds) != len(s.CallDurations)-1 || d.Bounds[0] != 0.001 || d.Bounds[3] != 0.008 || d.Sum != 0.01 {
		t.Errorf("call durations: got %+v, want bounds 0.001, 0.002, ... and sum 0.01", d)
	}
}

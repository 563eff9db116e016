package trigger

import (
	"log/slog"
	"testing"
	"time"
)

func TestDurationBucket(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {time.Microsecond, 0}, {time.Millisecond, 0}, {1500 * time.Microsecond, 1}, {2 * time.Millisecond, 1},
		{3 * time.Millisecond, 2}, {time.Second, 10}, {1025 * time.Millisecond, 11}, {time.Hour, durationBuckets - 1},
	}
	for _, tt := range tests {
		got := durationBucket(tt.d)
		if got != tt.want {
			t.Errorf("durationBucket(%s): got %d, want %d", tt.d, got, tt.want)
		}
		if got < durationBuckets-1 && tt.d > DurationBound(got) {
			t.Errorf("durationBucket(%s) = %d, whose bound %s is below it", tt.d, got, DurationBound(got))
		}
	}
}

func TestCallDurations(t *testing.T) {
	var c counters
	c.called(3)()
	s := c.snapshot()
	if s.CallDurations[0] != 1 || s.CallTime <= 0 {
		t.Fatalf("after one quick call: got CallDurations %v, CallTime %s, want one in [0] and a time", s.CallDurations, s.CallTime)
	}
}

// TestSampleLag reads the lag of the owned partitions from librdkafka's
// statistics (trimmed to what sampleLag reads).
func TestSampleLag(t *testing.T) {
	const stats = `{"topics":{"t":{"partitions":{
		"0":{"partition":0,"consumer_lag":5,"hi_offset":20,"lo_offset":0,"committed_offset":15},
		"1":{"partition":1,"consumer_lag":-1,"hi_offset":7,"lo_offset":2,"committed_offset":-1001},
		"2":{"partition":2,"consumer_lag":-1,"hi_offset":-1001,"lo_offset":-1001,"committed_offset":-1001},
		"3":{"partition":3,"consumer_lag":9,"hi_offset":9,"lo_offset":0,"committed_offset":0},
		"-1":{"partition":-1,"consumer_lag":-1,"hi_offset":-1001,"lo_offset":-1001,"committed_offset":-1001}}}}}`
	s := &session{t: &Trigger{log: slog.New(slog.DiscardHandler)}, parts: map[partitionKey]*partition{
		{"t", 0}: {}, {"t", 1}: {}, {"t", 2}: {}, {"u", 0}: {},
	}}
	s.sampleLag(stats)
	got := s.t.Lags()
	// 0: committed 15 of 20; 1: never committed, 2..7 to do; 2: end not
	// known yet; 3: not owned; u/0: not in the statistics yet.
	want := []Lag{{"t", 0, 5}, {"t", 1, 5}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Lags: got %+v, want %+v", got, want)
	}
	s.sampleLag("not json")
	if got := s.t.Lags(); len(got) != 2 {
		t.Fatalf("Lags after unreadable statistics: got %+v, want the last sample kept", got)
	}
}

package trigger

import (
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

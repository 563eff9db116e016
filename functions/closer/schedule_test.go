package closer

import (
	"maps"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 18, 0, 0, 0, time.UTC)

// item is an entry read at offset that closes closeIn after t0.
func item(id string, offset int64, closeIn time.Duration) *entry {
	return &entry{itemID: id, endsAt: t0.Add(closeIn), closeAt: t0.Add(closeIn), cause: "evt-" + id, offset: offset}
}

// closeDue pops what is due at t0+at and acknowledges it, as the emitter
// does after a successful write.
func closeDue(s *schedule, at time.Duration) {
	s.ack(s.popDue(t0.Add(at), maxBatch))
}

func TestLowWatermark(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name        string
		run         func(s *schedule)
		want        map[int32]int64 // uncommitted(): what a commit would write
		wantPending int
	}{
		{
			name: "nothing read, nothing to commit",
			run:  func(s *schedule) {},
			want: map[int32]int64{},
		},
		{
			name: "every item closed: after the last record read",
			run: func(s *schedule) {
				s.add(0, item("a", 10, time.Second))
				s.add(0, item("b", 11, 2*time.Second))
				closeDue(s, 2*time.Second)
			},
			want: map[int32]int64{0: 12},
		},
		{
			name: "an item still open holds the commit at its offset",
			run: func(s *schedule) {
				s.add(0, item("week", 10, 7*day))
				s.add(0, item("soon", 11, time.Second))
				closeDue(s, time.Second)
			},
			want:        map[int32]int64{0: 10},
			wantPending: 1,
		},
		{
			name: "a close-due written but not acknowledged is still pending",
			run: func(s *schedule) {
				s.add(0, item("a", 10, time.Second))
				s.popDue(t0.Add(time.Second), maxBatch)
			},
			want:        map[int32]int64{0: 10},
			wantPending: 1,
		},
		{
			name: "acknowledged out of offset order",
			run: func(s *schedule) {
				s.add(0, item("a", 10, 2*time.Second))
				s.add(0, item("b", 11, time.Second))
				s.add(0, item("c", 12, 3*time.Second))
				closeDue(s, time.Second)     // b: a still holds 10
				closeDue(s, 2*time.Second)   // a: c now holds 12
				closeDue(s, 3*time.Second+1) // c: nothing left
			},
			want: map[int32]int64{0: 13},
		},
		{
			name: "a dead-lettered record moves the watermark",
			run:  func(s *schedule) { s.skip(0, 5) },
			want: map[int32]int64{0: 6},
		},
		{
			name: "a dead-lettered record behind an open item does not",
			run: func(s *schedule) {
				s.add(0, item("a", 10, time.Hour))
				s.skip(0, 11)
			},
			want:        map[int32]int64{0: 10},
			wantPending: 1,
		},
		{
			name: "a redelivered item is scheduled once",
			run: func(s *schedule) {
				s.add(0, item("a", 10, time.Second))
				s.add(0, item("a", 11, time.Second))
			},
			want:        map[int32]int64{0: 10},
			wantPending: 1,
		},
		{
			name: "a redelivered item's closed copy is not waited for",
			run: func(s *schedule) {
				s.add(0, item("a", 10, time.Second))
				s.add(0, item("a", 11, time.Second))
				closeDue(s, time.Second)
			},
			want: map[int32]int64{0: 12},
		},
		{
			name: "partitions have their own watermarks",
			run: func(s *schedule) {
				s.add(0, item("a", 10, time.Hour))
				s.add(1, item("b", 20, time.Second))
				s.add(2, item("c", 30, time.Second))
				closeDue(s, time.Second)
			},
			want:        map[int32]int64{0: 10, 1: 21, 2: 31},
			wantPending: 1,
		},
		{
			name: "records of unassigned partitions are ignored",
			run:  func(s *schedule) { s.add(7, item("a", 10, time.Second)); s.skip(7, 11) },
			want: map[int32]int64{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule()
			s.assign([]int32{0, 1, 2})
			tc.run(s)
			if got := s.uncommitted(); !maps.Equal(got, tc.want) {
				t.Errorf("uncommitted() = %v, want %v", got, tc.want)
			}
			if got := s.pendingCount(); got != tc.wantPending {
				t.Errorf("pendingCount() = %d, want %d", got, tc.wantPending)
			}
		})
	}
}

func TestCommittedWatermarkIsNotCommittedAgain(t *testing.T) {
	s := newSchedule()
	s.assign([]int32{0})
	s.add(0, item("a", 10, time.Second))
	s.committed(0, 10)
	if got := s.uncommitted(); len(got) != 0 {
		t.Fatalf("uncommitted() after commit = %v, want none", got)
	}
	closeDue(s, time.Second)
	if got, want := s.uncommitted(), map[int32]int64{0: 11}; !maps.Equal(got, want) {
		t.Fatalf("uncommitted() after close = %v, want %v", got, want)
	}
}

func TestPopDue(t *testing.T) {
	tests := []struct {
		name string
		at   time.Duration
		max  int
		want []string
	}{
		{name: "nothing due yet", at: 0, max: maxBatch, want: nil},
		{name: "closeAt order, not offset order", at: 3 * time.Second, max: maxBatch, want: []string{"b", "a", "c"}},
		{name: "due exactly at closeAt", at: 2 * time.Second, max: maxBatch, want: []string{"b", "a"}},
		{name: "same closeAt: offset order", at: 4 * time.Second, max: maxBatch, want: []string{"b", "a", "c", "d", "e"}},
		{name: "bounded batch", at: time.Hour, max: 2, want: []string{"b", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule()
			s.assign([]int32{0})
			s.add(0, item("a", 10, 2*time.Second))
			s.add(0, item("b", 11, time.Second))
			s.add(0, item("c", 12, 3*time.Second))
			s.add(0, item("e", 14, 4*time.Second))
			s.add(0, item("d", 13, 4*time.Second))
			var got []string
			for _, e := range s.popDue(t0.Add(tc.at), tc.max) {
				got = append(got, e.itemID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("popDue(t0+%s, %d) = %v, want %v", tc.at, tc.max, got, tc.want)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	s := newSchedule()
	s.assign([]int32{0, 1})
	s.add(0, item("a", 10, time.Second))
	s.add(0, item("b", 11, time.Hour))
	s.add(1, item("c", 20, time.Hour))
	inFlight := s.popDue(t0.Add(time.Second), maxBatch)

	if got, want := s.revoke([]int32{0}), map[int32]int64{0: 10}; !maps.Equal(got, want) {
		t.Fatalf("revoke(0) = %v, want %v", got, want)
	}
	if got := s.owned(inFlight); len(got) != 0 {
		t.Errorf("owned(in flight) after revoke = %d entries, want 0", len(got))
	}
	// The write that was in flight when partition 0 left is acknowledged
	// late: the partition's new owner has it, so nothing changes here.
	s.ack(inFlight)
	if got, want := s.pendingCount(), 1; got != want {
		t.Errorf("pendingCount() = %d, want %d (only partition 1's item)", got, want)
	}
	if got, want := s.uncommitted(), map[int32]int64{1: 20}; !maps.Equal(got, want) {
		t.Errorf("uncommitted() = %v, want %v", got, want)
	}
	if d, ok := s.arm(t0); !ok || d != time.Hour {
		t.Errorf("arm() = %s, %v; want 1h, true (partition 0's items are gone)", d, ok)
	}

	// Assigned again, the partition is read again from the watermark.
	s.assign([]int32{0})
	if !s.add(0, item("a", 10, time.Second)) {
		t.Fatalf("add after reassignment = false, want true")
	}
	if got, want := s.pendingCount(), 2; got != want {
		t.Errorf("pendingCount() after re-reading = %d, want %d", got, want)
	}
}

func TestWake(t *testing.T) {
	s := newSchedule()
	s.assign([]int32{0})
	woken := func() bool {
		select {
		case <-s.wake:
			return true
		default:
			return false
		}
	}
	if _, ok := s.arm(t0); ok {
		t.Fatalf("arm() on an empty schedule = _, true; want false")
	}
	steps := []struct {
		name      string
		add       *entry
		wantWoken bool
		wantWait  time.Duration
	}{
		{name: "first item, timer not armed", add: item("a", 1, 10*time.Second), wantWoken: true, wantWait: 10 * time.Second},
		{name: "later item", add: item("b", 2, 20*time.Second), wantWoken: false, wantWait: 10 * time.Second},
		{name: "earlier item", add: item("c", 3, 5*time.Second), wantWoken: true, wantWait: 5 * time.Second},
		{name: "already past", add: item("d", 4, -time.Minute), wantWoken: true, wantWait: -time.Minute},
	}
	for _, st := range steps {
		s.add(0, st.add)
		if got := woken(); got != st.wantWoken {
			t.Errorf("%s: woken = %v, want %v", st.name, got, st.wantWoken)
		}
		if got, ok := s.arm(t0); !ok || got != st.wantWait {
			t.Errorf("%s: arm() = %s, %v; want %s, true", st.name, got, ok, st.wantWait)
		}
	}
}

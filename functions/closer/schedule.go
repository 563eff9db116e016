package closer

import (
	"container/heap"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/trace"
)

// schedule is the closer's memory: for each partition it owns, the items it
// has read whose close-due is not yet acknowledged. It does no I/O and reads
// no clock, so its rules, the low watermark above all, are tested on their own.
//
// Three goroutines share it: the consumer loop adds items and handles
// rebalances, the emitter pops due entries and acknowledges them, and Pending
// may be called from anywhere. One mutex is enough: every operation is short.
type schedule struct {
	mu    sync.Mutex
	parts map[int32]*partition
	// armed is the closeAt the emitter's timer waits for (zero: none). An
	// item due before it must wake the emitter; later ones need not.
	armed time.Time
	wake  chan struct{}
}

// partition is the schedule of one assigned partition of auction.items.
type partition struct {
	id int32
	// due holds the entries not yet popped, earliest closeAt first.
	due dueHeap
	// unacked holds every entry read and not yet acknowledged (due or being
	// published), in offset order, so its head is the low watermark.
	// Acknowledged entries leave it lazily, from the front.
	unacked []*entry
	// open finds an unacknowledged entry by item id and end (see
	// entry.key), to schedule a redelivered item once.
	open map[string]*entry
	// next is the offset after the last record read; -1 before the first.
	next int64
	// committed is the offset last committed; -1 if none since assignment.
	committed int64
	// waiting counts the entries read and not yet acknowledged.
	waiting int
	// revoked is set when the partition is taken away, so that late
	// acknowledgements of its entries are ignored.
	revoked bool
}

// entry is one item waiting for its close-due.
type entry struct {
	itemID  string
	endsAt  time.Time
	closeAt time.Time
	// extended: endsAt is a soft close extension, not the item's own end.
	extended bool
	// cause is the id of the event that gave the end (the item placed, or
	// the extension), the close-due's causation; placed is the span that
	// wrote it, which the close links to.
	cause  string
	placed trace.SpanContext
	offset int64
	part   *partition
	acked  bool
	// event is the close-due, built when the entry is popped.
	event event.Event
}

// key tells entries apart: an item has one entry for each end it was
// given, the one it was placed with and each soft close extension.
func (e *entry) key() string { return e.itemID + "@" + e.endsAt.UTC().Format(time.RFC3339Nano) }

// closeDueID is the id of the entry's close-due: "<item>.close-due" for
// the end an item was placed with, and one naming the end for each end a
// soft close moved it to, so that each is an event of its own.
func (e *entry) closeDueID() string {
	if !e.extended {
		return e.itemID + ".close-due"
	}
	return e.itemID + ".close-due@" + e.endsAt.UTC().Format(time.RFC3339Nano)
}

func newSchedule() *schedule {
	return &schedule{parts: make(map[int32]*partition), wake: make(chan struct{}, 1)}
}

// assign starts an empty schedule for each partition. Nothing else is needed:
// the consumer re-reads each from its committed offset, which rebuilds it.
func (s *schedule) assign(ids []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.parts[id]; !ok {
			s.parts[id] = &partition{id: id, open: make(map[string]*entry), next: -1, committed: -1}
		}
	}
}

// revoke drops the partitions' schedules and returns the low watermarks to
// commit before letting them go: those not committed yet (a partition that
// never read a record has none).
func (s *schedule) revoke(ids []int32) map[int32]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks := make(map[int32]int64)
	for _, id := range ids {
		p, ok := s.parts[id]
		if !ok {
			continue
		}
		if w := p.lowWatermark(); w >= 0 && w != p.committed {
			marks[id] = w
		}
		p.revoked = true
		delete(s.parts, id)
	}
	return marks
}

// add schedules e, read at offset e.offset of partition id. It reports
// whether e was scheduled: not for an unassigned partition, nor for an item
// already waiting (a redelivery), whose earlier copy holds the watermark.
func (s *schedule) add(id int32, e *entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.parts[id]
	if !ok {
		return false
	}
	p.next = e.offset + 1
	if _, dup := p.open[e.key()]; dup {
		return false
	}
	e.part = p
	p.open[e.key()] = e
	p.unacked = append(p.unacked, e)
	heap.Push(&p.due, e)
	p.waiting++
	if s.armed.IsZero() || e.closeAt.Before(s.armed) {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already on its way
		}
	}
	return true
}

// skip records that the record at offset of partition id was read and needs
// no close-due (it was dead-lettered).
func (s *schedule) skip(id int32, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.parts[id]; ok {
		p.next = offset + 1
	}
}

// popDue removes and returns up to max entries whose closeAt is not after
// now. They stay unacknowledged, holding the watermark, until ack.
func (s *schedule) popDue(now time.Time, max int) []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*entry
	for _, p := range s.parts {
		for len(p.due) > 0 && len(out) < max && !p.due[0].closeAt.After(now) {
			out = append(out, heap.Pop(&p.due).(*entry))
		}
	}
	return out
}

// arm returns how long from now until the earliest closeAt, and false if
// nothing is scheduled. Adds of items due earlier than that wake the emitter.
func (s *schedule) arm(now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = time.Time{}
	for _, p := range s.parts {
		if len(p.due) > 0 && (s.armed.IsZero() || p.due[0].closeAt.Before(s.armed)) {
			s.armed = p.due[0].closeAt
		}
	}
	if s.armed.IsZero() {
		return 0, false
	}
	return s.armed.Sub(now), true
}

// ack marks entries whose close-due the broker acknowledged. Entries of
// partitions revoked meanwhile are ignored: their new owner re-reads them.
func (s *schedule) ack(es []*entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		if e.acked || e.part.revoked {
			continue
		}
		e.acked = true
		e.part.waiting--
		if e.part.open[e.key()] == e {
			delete(e.part.open, e.key())
		}
	}
}

// owned returns the entries whose partitions are still assigned.
func (s *schedule) owned(es []*entry) []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := es[:0:0]
	for _, e := range es {
		if !e.part.revoked {
			out = append(out, e)
		}
	}
	return out
}

// uncommitted returns the low watermark of every partition whose watermark
// moved since its last commit.
func (s *schedule) uncommitted() map[int32]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks := make(map[int32]int64)
	for id, p := range s.parts {
		if w := p.lowWatermark(); w >= 0 && w != p.committed {
			marks[id] = w
		}
	}
	return marks
}

// committed records a successful commit of offset for partition id.
func (s *schedule) committed(id int32, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.parts[id]; ok {
		p.committed = offset
	}
}

// pendingCount is the number of items read and not yet closed.
func (s *schedule) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.parts {
		n += p.waiting
	}
	return n
}

// lowWatermark is the offset a restarted reader of the partition must start
// from to lose no close: the earliest unacknowledged entry, or the record
// after the last one read; -1 if nothing was read yet.
func (p *partition) lowWatermark() int64 {
	for len(p.unacked) > 0 && p.unacked[0].acked {
		p.unacked[0] = nil // let the entry be collected
		p.unacked = p.unacked[1:]
	}
	if len(p.unacked) > 0 {
		return p.unacked[0].offset
	}
	return p.next
}

// dueHeap orders entries by closeAt, then by offset, so that items closing
// at the same instant are emitted in the order they were placed.
type dueHeap []*entry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].closeAt.Equal(h[j].closeAt) {
		return h[i].closeAt.Before(h[j].closeAt)
	}
	return h[i].offset < h[j].offset
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(*entry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

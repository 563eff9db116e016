package gateway

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// idempotency remembers the answer to each (caller, Idempotency-Key) so a
// retried request gets the same answer and causes no second event. A retry
// that arrives while the first attempt is still running waits for it.
//
// It lives in the gateway's memory: behind several gateway replicas the key
// only deduplicates on the replica that saw it, and the bid id derived from
// the key and the bid (placebid.IdempotentID) makes the processor decide a
// duplicate once anyway, and another bid under a reused key as another bid.
type idempotency struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*idemEntry
	sweepAt int
}

type idemEntry struct {
	fingerprint [32]byte
	done        chan struct{} // closed when the answer is known
	answer      *recorder
	expires     time.Time
}

func newIdempotency(ttl time.Duration, now func() time.Time) *idempotency {
	return &idempotency{ttl: ttl, now: now, entries: map[string]*idemEntry{}, sweepAt: 1024}
}

// begin claims key for a request with this fingerprint. The owner runs the
// request and must call finish; anyone else gets the owner's entry to replay.
// reused is true when the key was used before for a different request.
func (s *idempotency) begin(key string, request []byte) (e *idemEntry, owner, reused bool) {
	fp := sha256.Sum256(request)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && (e.expires.IsZero() || now.Before(e.expires)) {
		return e, false, e.fingerprint != fp
	}
	if len(s.entries) >= s.sweepAt {
		s.sweep(now)
	}
	e = &idemEntry{fingerprint: fp, done: make(chan struct{})}
	s.entries[key] = e
	return e, true, false
}

// finish records the answer. Only final answers are kept: a failure the
// client should retry (5xx) forgets the key so the retry runs again.
func (s *idempotency) finish(key string, e *idemEntry, answer *recorder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.answer = answer
	if answer.status >= 500 {
		delete(s.entries, key)
	} else {
		e.expires = s.now().Add(s.ttl)
	}
	close(e.done)
}

// wait blocks until e's answer is known or ctx ends.
func (e *idemEntry) wait(ctx context.Context) bool {
	select {
	case <-e.done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *idempotency) sweep(now time.Time) {
	for k, e := range s.entries {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
	// Grow the threshold with the live set so sweeping stays amortised O(1).
	s.sweepAt = max(1024, 2*len(s.entries))
}

// Package idempotency remembers the answer to each request sent with an
// Idempotency-Key, so that a retried request gets the first answer back and
// causes nothing twice: the store behind the HTTP Idempotency-Key header
// (draft-ietf-httpapi-idempotency-key-header).
//
// A key goes through two states. Claim records it as in flight, bound to the
// request's fingerprint, for a lease; Complete replaces the claim with the
// final answer, kept for a time to live; Release forgets a claim whose
// answer was not final (the client should retry and the retry should run).
// A claim whose lease lapsed (its gateway died mid-request) frees the key,
// as an answer past its time to live does. That is safe only because the
// events a request writes are named by the whole request (the key, the
// caller and the body), not by the key alone: a rerun writes the same ids,
// which the processor decides once, and another request writes other ids.
//
// Memory keeps keys in the process (the embedded mode); Dynamo keeps them in
// a DynamoDB table shared by every gateway replica, so a key survives a
// restart and holds behind a load balancer.
package idempotency

import (
	"context"
	"time"
)

// Store remembers keys and their answers. Keys are opaque: the caller scopes
// them (to the signed-in user, say) before calling.
type Store interface {
	// Claim records key as in flight for a request with fingerprint fp. It
	// returns claimed = true if the caller now holds key and must Complete
	// or Release it; otherwise it returns the record that holds it: an
	// answer, or a claim still in its lease, for fp or for another
	// fingerprint. A key whose claim or answer has expired is claimed anew.
	Claim(ctx context.Context, key string, fp []byte) (prior Record, claimed bool, err error)
	// Complete records the final answer to the claim on key.
	Complete(ctx context.Context, key string, fp []byte, a Answer) error
	// Release forgets the claim on key, so the next request with it runs.
	Release(ctx context.Context, key string, fp []byte) error
}

// Record is what a Store holds for a key.
type Record struct {
	Fingerprint []byte
	// Answer is nil while the first request is in flight.
	Answer *Answer
}

// Answer is a response to replay.
type Answer struct {
	Status int
	Header map[string][]string
	Body   []byte
}

// Limits are how long a Store keeps what it holds.
type Limits struct {
	// Lease is how long a claim holds its key without an answer; after it a
	// retry of the same request may take the key over. It must exceed the
	// longest a request runs.
	Lease time.Duration
	// TTL is how long an answer is kept, from when it is recorded.
	TTL time.Duration
}

// DefaultLimits keep answers for a day, as payment APIs do, and let a retry
// take over a claim a crashed gateway left after a minute.
var DefaultLimits = Limits{Lease: time.Minute, TTL: 24 * time.Hour}

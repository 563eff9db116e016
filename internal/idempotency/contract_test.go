package idempotency_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/idempotency"
)

var limits = idempotency.Limits{Lease: 30 * time.Second, TTL: time.Hour}

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestStoreContract runs one contract against the in-process store and the
// DynamoDB one (on DYNAMODB_ENDPOINT or a dynalite of its own), a fresh
// table per subtest.
func TestStoreContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		runContract(t, func(_ *testing.T, now func() time.Time) idempotency.Store {
			return idempotency.NewMemory(limits, now)
		})
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		runContract(t, func(t *testing.T, now func() time.Time) idempotency.Store {
			table := dynamotest.NewTable(t, client, func(ctx context.Context, _ dynamotable.TableAPI, table string) error {
				return idempotency.EnsureTable(ctx, client, table)
			})
			return idempotency.NewDynamo(client, table, limits, now)
		})
	})
}

type newStore func(t *testing.T, now func() time.Time) idempotency.Store

var (
	fpA = []byte("request A")
	fpB = []byte("request B")
)

func runContract(t *testing.T, open newStore) {
	// fresh is a store on a clock of its own.
	fresh := func(t *testing.T) (idempotency.Store, *clock) {
		c := &clock{t: time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)}
		return open(t, c.now), c
	}
	ctx := context.Background()
	claim := func(t *testing.T, s idempotency.Store, key string, fp []byte) (idempotency.Record, bool) {
		t.Helper()
		rec, claimed, err := s.Claim(ctx, key, fp)
		if err != nil {
			t.Fatalf("Claim(%s, %s): %v", key, fp, err)
		}
		return rec, claimed
	}
	mustClaim := func(t *testing.T, s idempotency.Store, key string, fp []byte) {
		t.Helper()
		if rec, claimed := claim(t, s, key, fp); !claimed {
			t.Fatalf("Claim(%s, %s): held by %+v, want claimed", key, fp, rec)
		}
	}
	held := func(t *testing.T, s idempotency.Store, key string, fp []byte) idempotency.Record {
		t.Helper()
		rec, claimed := claim(t, s, key, fp)
		if claimed {
			t.Fatalf("Claim(%s, %s): claimed, want the key held", key, fp)
		}
		return rec
	}
	answer := idempotency.Answer{Status: http.StatusAccepted,
		Header: map[string][]string{"Content-Type": {"application/json"}, "Location": {"/v1/bids/b-1"}},
		Body:   []byte(`{"bidId":"b-1","status":"pending"}`)}

	t.Run("a claim holds its key for every request until answered", func(t *testing.T) {
		t.Parallel()
		s, _ := fresh(t)
		mustClaim(t, s, "k", fpA)
		for _, fp := range [][]byte{fpA, fpB} {
			rec := held(t, s, "k", fp)
			if !bytes.Equal(rec.Fingerprint, fpA) || rec.Answer != nil {
				t.Errorf("held record %+v, want in flight for %s", rec, fpA)
			}
		}
		mustClaim(t, s, "other key", fpA)
	})
	t.Run("the answer is replayed as recorded", func(t *testing.T) {
		t.Parallel()
		s, _ := fresh(t)
		empty := idempotency.Answer{Status: http.StatusNoContent, Header: map[string][]string{}}
		// A large batch's answer: 1,000 results under the longest item ids,
		// two reasons each; larger as JSON than a DynamoDB item may be.
		var batch bytes.Buffer
		batch.WriteString(`{"results":[`)
		reason := `{"pointer":"/bids/%d/itemId","field":"/bids/%d/itemId","code":"too_late","message":"the auction ended at 2030-05-06T07:08:09Z; bids placed from then on do not count"}`
		for i := range 1000 {
			fmt.Fprintf(&batch, `{"itemId":"%s%012d","status":"rejected","errors":[`+reason+`,`+reason+`]},`, strings.Repeat("i", 116), i, i, i, i, i)
		}
		batch.WriteString(`{}]}`)
		if batch.Len() <= 400<<10 {
			t.Fatalf("the batch answer is %d bytes, want more than DynamoDB's 400 KB item limit", batch.Len())
		}
		large := idempotency.Answer{Status: http.StatusAccepted, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: batch.Bytes()}
		for key, a := range map[string]idempotency.Answer{"full": answer, "empty": empty, "a batch's": large} {
			mustClaim(t, s, key, fpA)
			if err := s.Complete(ctx, key, fpA, a); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			rec := held(t, s, key, fpA)
			if rec.Answer == nil || !bytes.Equal(rec.Fingerprint, fpA) {
				t.Fatalf("%s: record %+v, want the answer for %s", key, rec, fpA)
			}
			got := *rec.Answer
			if len(got.Body) == 0 {
				got.Body = nil
			}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("%s: replayed %+v, want %+v", key, got, a)
			}
			if rec := held(t, s, key, fpB); rec.Answer == nil || !bytes.Equal(rec.Fingerprint, fpA) {
				t.Errorf("%s, another request: record %+v, want the first request's answer", key, rec)
			}
		}
	})
	t.Run("a released claim frees its key; an answer is never released", func(t *testing.T) {
		t.Parallel()
		s, _ := fresh(t)
		mustClaim(t, s, "k", fpA)
		if err := s.Release(ctx, "k", fpB); err != nil {
			t.Fatalf("Release by another request: %v", err)
		}
		held(t, s, "k", fpA) // not its claim to release
		if err := s.Release(ctx, "k", fpA); err != nil {
			t.Fatalf("Release: %v", err)
		}
		mustClaim(t, s, "k", fpB)
		if err := s.Complete(ctx, "k", fpB, answer); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if err := s.Release(ctx, "k", fpB); err != nil {
			t.Fatalf("Release of an answer: %v", err)
		}
		if rec := held(t, s, "k", fpB); rec.Answer == nil {
			t.Errorf("after Release of an answer: %+v, want the answer kept", rec)
		}
	})
	t.Run("a lapsed claim frees its key, and its late answer overwrites no other", func(t *testing.T) {
		t.Parallel()
		s, c := fresh(t)
		mustClaim(t, s, "k", fpA)
		c.advance(limits.Lease - time.Millisecond)
		held(t, s, "k", fpB)
		c.advance(time.Millisecond)
		mustClaim(t, s, "k", fpB)
		// The first holder wakes up and answers: the key is not its own now.
		if err := s.Complete(ctx, "k", fpA, answer); err != nil {
			t.Fatalf("late Complete: %v", err)
		}
		if rec := held(t, s, "k", fpB); rec.Answer != nil || !bytes.Equal(rec.Fingerprint, fpB) {
			t.Errorf("after a late answer: %+v, want B's claim in flight", rec)
		}
	})
	t.Run("an answer expires after its time to live", func(t *testing.T) {
		t.Parallel()
		s, c := fresh(t)
		mustClaim(t, s, "k", fpA)
		c.advance(limits.Lease / 2) // the time to live counts from the answer
		if err := s.Complete(ctx, "k", fpA, answer); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		c.advance(limits.TTL - time.Millisecond)
		if rec := held(t, s, "k", fpA); rec.Answer == nil {
			t.Fatalf("before the time to live: %+v, want the answer", rec)
		}
		c.advance(time.Millisecond)
		mustClaim(t, s, "k", fpB)
	})
	t.Run("of racing claims exactly one wins", func(t *testing.T) {
		t.Parallel()
		s, _ := fresh(t)
		const racers = 8
		var wg sync.WaitGroup
		won := make(chan int, racers)
		for i := range racers {
			wg.Go(func() {
				fp := []byte{byte(i)}
				rec, claimed, err := s.Claim(ctx, "k", fp)
				switch {
				case err != nil:
					t.Errorf("racer %d: %v", i, err)
				case claimed:
					won <- i
				case rec.Answer != nil || len(rec.Fingerprint) != 1:
					t.Errorf("racer %d: lost to %+v, want another racer's claim", i, rec)
				}
			})
		}
		wg.Wait()
		close(won)
		var winners []int
		for i := range won {
			winners = append(winners, i)
		}
		if len(winners) != 1 {
			t.Fatalf("winners %v, want exactly one", winners)
		}
		if rec := held(t, s, "k", fpA); !bytes.Equal(rec.Fingerprint, []byte{byte(winners[0])}) {
			t.Errorf("the key is held by %v, want the winner %d", rec.Fingerprint, winners[0])
		}
	})
}

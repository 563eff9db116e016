package faas_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/faas"
)

type observer struct {
	mu        sync.Mutex
	calls     []error
	coldStart int
}

func (o *observer) Invocation(_ string, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, err)
}

func (o *observer) ColdStart(string, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.coldStart++
}

func TestObserverSeesEveryInvocationAndOneColdStart(t *testing.T) {
	o := &observer{}
	boom := errors.New("boom")
	f := faas.Of(func(_ context.Context, fail bool) (int, error) {
		if fail {
			return 0, boom
		}
		return 1, nil
	}, faas.Options{Name: "f", Observe: o})
	for _, fail := range []bool{false, true, false} {
		_, _ = f.Invoke(context.Background(), fail)
	}
	if o.coldStart != 1 || len(o.calls) != 3 || o.calls[0] != nil || !errors.Is(o.calls[1], boom) || o.calls[2] != nil {
		t.Fatalf("got cold starts %d, calls %v; want 1 and [nil boom nil]", o.coldStart, o.calls)
	}
}

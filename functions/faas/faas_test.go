package faas_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/faas"
)

// waitTimeout bounds every wait on another goroutine, so a bug fails the
// test instead of hanging it.
const waitTimeout = 10 * time.Second

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("%s: got nothing after %v, want a value", what, waitTimeout)
		panic("unreachable")
	}
}

func double(_ context.Context, n int) (int, error) { return 2 * n, nil }

func TestInitOnceUnderConcurrency(t *testing.T) {
	var inits atomic.Int32
	start := make(chan struct{})
	fn := faas.New(func(context.Context) (faas.Func[int, int], error) {
		inits.Add(1)
		// Let the clock move, so the cold start is measurably positive.
		for t0 := time.Now(); time.Since(t0) <= 0; {
		}
		return double, nil
	}, faas.Options{Name: "double", Concurrency: 4})

	if got := fn.ColdStart(); got != 0 {
		t.Fatalf("ColdStart before the first invocation: got %v, want 0", got)
	}
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := fn.Invoke(context.Background(), i)
			if err == nil && got != 2*i {
				err = errors.New("wrong result")
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Invoke: got %v, want nil", err)
		}
	}
	if got := inits.Load(); got != 1 {
		t.Fatalf("init runs: got %d, want 1", got)
	}
	if got := fn.ColdStart(); got <= 0 {
		t.Fatalf("ColdStart after the first invocation: got %v, want > 0", got)
	}
	if got := fn.Name(); got != "double" {
		t.Fatalf("Name: got %q, want %q", got, "double")
	}
}

func TestInitError(t *testing.T) {
	errConfig := errors.New("missing configuration")
	var inits, calls atomic.Int32
	fn := faas.New(func(context.Context) (faas.Func[int, int], error) {
		inits.Add(1)
		return func(context.Context, int) (int, error) {
			calls.Add(1)
			return 0, nil
		}, errConfig
	}, faas.Options{Name: "broken"})

	for i := range 5 {
		got, err := fn.Invoke(context.Background(), i)
		if !errors.Is(err, errConfig) {
			t.Fatalf("Invoke #%d error: got %v, want it to wrap %v", i, err, errConfig)
		}
		if got != 0 {
			t.Fatalf("Invoke #%d: got %d, want 0", i, got)
		}
	}
	if got := inits.Load(); got != 1 {
		t.Fatalf("init runs: got %d, want 1", got)
	}
	if got := calls.Load(); got != 0 {
		t.Fatalf("handler calls: got %d, want 0", got)
	}
}

func TestInitGetsCallerContext(t *testing.T) {
	type key struct{}
	var seen any
	fn := faas.New(func(ctx context.Context) (faas.Func[int, int], error) {
		seen = ctx.Value(key{})
		return double, nil
	}, faas.Options{})
	if _, err := fn.Invoke(context.WithValue(context.Background(), key{}, "first"), 1); err != nil {
		t.Fatalf("Invoke: got %v, want nil", err)
	}
	if seen != "first" {
		t.Fatalf("init context value: got %v, want %q", seen, "first")
	}
}

func TestConcurrencyBound(t *testing.T) {
	// ctx returns the third caller's context and what the caller does once
	// its invocation is under way.
	tests := []struct {
		name    string
		ctx     func(t *testing.T) (context.Context, func())
		wantErr error
	}{
		{name: "cancelled before invoking", wantErr: context.Canceled, ctx: func(*testing.T) (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, func() {}
		}},
		{name: "cancelled while waiting", wantErr: context.Canceled, ctx: func(*testing.T) (context.Context, func()) {
			return context.WithCancel(context.Background())
		}},
		{name: "deadline while waiting", wantErr: context.DeadlineExceeded, ctx: func(t *testing.T) (context.Context, func()) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			t.Cleanup(cancel)
			return ctx, func() {}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entered := make(chan int)
			release := make(chan struct{})
			fn := faas.Of(func(ctx context.Context, n int) (int, error) {
				entered <- n
				select {
				case <-release:
					return n, nil
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}, faas.Options{Name: "slow", Concurrency: 2})

			type outcome struct {
				n   int
				err error
			}
			done := make(chan outcome, 2)
			for i := range 2 {
				go func() {
					n, err := fn.Invoke(context.Background(), i+1)
					done <- outcome{n, err}
				}()
			}
			// Both slots are taken once both handlers have entered.
			receive(t, entered, "first handler")
			receive(t, entered, "second handler")

			ctx, giveUp := tt.ctx(t)
			third := make(chan error, 1)
			go func() {
				_, err := fn.Invoke(ctx, 3)
				third <- err
			}()
			giveUp()
			err := receive(t, third, "third invocation")
			if !errors.Is(err, faas.ErrOverloaded) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("third Invoke error: got %v, want %v and %v", err, faas.ErrOverloaded, tt.wantErr)
			}

			close(release)
			sum := 0
			for range 2 {
				o := receive(t, done, "blocked invocations")
				if o.err != nil {
					t.Fatalf("blocked Invoke: got %v, want nil", o.err)
				}
				sum += o.n
			}
			if sum != 3 {
				t.Fatalf("blocked results: got sum %d, want 3", sum)
			}

			// The slots were given back: a new invocation runs.
			res := make(chan outcome, 1)
			go func() {
				n, err := fn.Invoke(context.Background(), 4)
				res <- outcome{n, err}
			}()
			if got := receive(t, entered, "fourth handler"); got != 4 {
				t.Fatalf("fourth handler input: got %d, want 4", got)
			}
			if o := receive(t, res, "fourth invocation"); o.err != nil || o.n != 4 {
				t.Fatalf("fourth Invoke: got %d, %v, want 4, nil", o.n, o.err)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	type seen struct {
		deadline time.Time
		ok       bool
		err      error
	}
	tests := []struct {
		name        string
		timeout     time.Duration
		callerLimit time.Duration // 0: the caller sets no deadline
		wantLimit   time.Duration
		wait        bool // the handler waits for its context to end
	}{
		{name: "configured timeout", timeout: 20 * time.Millisecond, wantLimit: 20 * time.Millisecond, wait: true},
		{name: "default timeout", wantLimit: 10 * time.Second},
		{name: "caller's earlier deadline wins", timeout: time.Hour, callerLimit: 20 * time.Millisecond,
			wantLimit: 20 * time.Millisecond, wait: true},
		{name: "own timeout shorter than caller's", timeout: 20 * time.Millisecond, callerLimit: time.Hour,
			wantLimit: 20 * time.Millisecond, wait: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			fn := faas.Of(func(ctx context.Context, _ struct{}) (struct{}, error) {
				got.deadline, got.ok = ctx.Deadline()
				if tt.wait {
					<-ctx.Done()
					got.err = ctx.Err()
				}
				return struct{}{}, got.err
			}, faas.Options{Name: "wait", Timeout: tt.timeout})

			before := time.Now()
			ctx := context.Background()
			if tt.callerLimit > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, tt.callerLimit)
				defer cancel()
			}
			_, err := fn.Invoke(ctx, struct{}{})
			after := time.Now()

			if !got.ok {
				t.Fatalf("handler deadline: got none, want one")
			}
			if lo, hi := before.Add(tt.wantLimit), after.Add(tt.wantLimit); got.deadline.Before(lo) || got.deadline.After(hi) {
				t.Fatalf("handler deadline: got %v from the call, want %v (window %v)",
					got.deadline.Sub(before), tt.wantLimit, hi.Sub(lo))
			}
			if tt.wait {
				if !errors.Is(got.err, context.DeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("errors: got handler %v, Invoke %v, want %v", got.err, err, context.DeadlineExceeded)
				}
			} else if err != nil {
				t.Fatalf("Invoke: got %v, want nil", err)
			}
		})
	}
}

func TestOf(t *testing.T) {
	fn := faas.Of(double, faas.Options{Name: "double"})
	tests := []struct{ in, want int }{{0, 0}, {1, 2}, {-4, -8}}
	for _, tt := range tests {
		got, err := fn.Invoke(context.Background(), tt.in)
		if err != nil || got != tt.want {
			t.Fatalf("Invoke(%d): got %d, %v, want %d, nil", tt.in, got, err, tt.want)
		}
	}
}

// Package faas is the platform's function runtime, vendor-agnostic: a
// function is plain Go, func(ctx, In) (Out, error), with no HTTP, Kafka or AWS
// type in its signature. Triggers are adapters that invoke it: the HTTP
// gateway synchronously (the "API gateway" path), Kafka partitions, schedules.
//
// Like a cloud function, an instance is initialised once, on its first
// invocation (the cold start), runs at most Concurrency invocations at a
// time, and each invocation has a deadline.
package faas

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/telemetry"
)

// Func is a function's handler.
type Func[In, Out any] func(ctx context.Context, in In) (Out, error)

// Init builds a handler; it runs once per instance, on first use.
type Init[In, Out any] func(ctx context.Context) (Func[In, Out], error)

// ErrOverloaded means every concurrent slot stayed busy until the caller gave up.
var ErrOverloaded = errors.New("function overloaded")

// ErrUnavailable means a function could not reach what it writes to (the
// event log): nothing it was asked to do can be taken as done, and the call
// may succeed later. Functions wrap their adapters' own errors in it, so a
// trigger (the HTTP gateway answering 503) knows the function layer only,
// not the Kafka client below it.
var ErrUnavailable = errors.New("function dependency unavailable")

// Observer is told about every invocation and the cold start (a
// *metrics.Metrics); nil observes nothing.
type Observer interface {
	Invocation(function string, d time.Duration, err error)
	ColdStart(function string, d time.Duration)
}

// Options bound an instance.
type Options struct {
	Name string
	// Observe, if set, measures the instance.
	Observe Observer
	// Concurrency is the most invocations running at once (default 64).
	Concurrency int
	// Timeout is each invocation's deadline (default 10 s).
	Timeout time.Duration
}

// Function is one instance of a function.
type Function[In, Out any] struct {
	opts Options
	init Init[In, Out]
	sem  chan struct{}

	once      sync.Once
	handler   Func[In, Out]
	initErr   error
	coldStart atomic.Int64 // nanoseconds
}

// New returns an instance that initialises on its first invocation.
func New[In, Out any](init Init[In, Out], opts Options) *Function[In, Out] {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &Function[In, Out]{opts: opts, init: init, sem: make(chan struct{}, opts.Concurrency)}
}

// Of wraps a handler that needs no initialisation.
func Of[In, Out any](f Func[In, Out], opts Options) *Function[In, Out] {
	return New(func(context.Context) (Func[In, Out], error) { return f, nil }, opts)
}

// Name is the function's name.
func (f *Function[In, Out]) Name() string { return f.opts.Name }

// ColdStart is how long initialisation took (0 before the first invocation).
func (f *Function[In, Out]) ColdStart() time.Duration { return time.Duration(f.coldStart.Load()) }

// Invoke runs the function synchronously and returns its result. The
// invocation is a span ("invoke <name>"), marked cold when it initialised
// the instance.
func (f *Function[In, Out]) Invoke(ctx context.Context, in In) (_ Out, err error) {
	var zero Out
	ctx, span := telemetry.Tracer().Start(ctx, "invoke "+f.opts.Name,
		trace.WithAttributes(attribute.String("faas.name", f.opts.Name)))
	defer func() { telemetry.End(span, err) }()
	f.once.Do(func() {
		span.SetAttributes(attribute.Bool("faas.coldstart", true))
		start := time.Now()
		// Initialisation outlives the first caller: its cancellation must
		// not leave the instance broken for everyone after it.
		f.handler, f.initErr = f.init(context.WithoutCancel(ctx))
		f.coldStart.Store(int64(time.Since(start)))
		if f.opts.Observe != nil {
			f.opts.Observe.ColdStart(f.opts.Name, time.Since(start))
		}
	})
	if f.initErr != nil {
		return zero, fmt.Errorf("%s: init: %w", f.opts.Name, f.initErr)
	}
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: %w", f.opts.Name, errors.Join(ErrOverloaded, ctx.Err()))
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	start := time.Now()
	out, err := f.handler(ctx, in)
	if f.opts.Observe != nil {
		f.opts.Observe.Invocation(f.opts.Name, time.Since(start), err)
	}
	return out, err
}

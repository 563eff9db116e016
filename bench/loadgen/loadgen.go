// Package loadgen drives the platform's HTTP API at a fixed rate and
// measures what it answers: the `auction-bench loadgen` command and the
// benchmark harness (infra/bench) are built on it.
//
// The generator is open loop: operation i is due at start + i/rate whether or
// not earlier ones have finished, and its latency is measured from that
// intended time, not from when it was actually sent. A server that stalls
// therefore shows the stall in the latency of every operation that should
// have gone out during it, instead of hiding it by sending less (coordinated
// omission). Latencies go into HDR histograms.
//
// Scenarios (api.go) set up users, tokens and items through the API and then
// place single bids, batches of bids, or whole auctions. Reference serves a
// minimal handler to compare the gateway with, and the sub-package kafkaload
// measures the broker underneath (raw produce and consume) and the latencies
// that only the result topics can tell (bid verdicts, auction closes).
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Op performs one operation (one HTTP request, one auction) and reports how
// it went. It must return when ctx ends.
type Op func(ctx context.Context) Outcome

// Outcome is what one operation came to.
type Outcome struct {
	// Status is the HTTP status, or 0 when the request failed before an
	// answer (Err set).
	Status int
	Err    error
	// Units is how much work a successful operation carried: the bids a
	// batch got into the log, 1 for a single bid. Zero counts as one.
	Units int
}

// Config bounds and paces a run. Rate and at least one of Duration and
// Count are required.
type Config struct {
	// Name labels the result.
	Name string
	// Rate is the operations per second to start.
	Rate float64
	// Duration stops the schedule: no operation is due at or after start+Duration.
	Duration time.Duration
	// Count stops the schedule after this many operations.
	Count int64
	// MaxInFlight caps concurrent operations (default 1000). When the cap is
	// reached the schedule waits for a slot, and the wait counts in the
	// latency of the operation that waited; one still waiting when the
	// schedule ends is counted as dropped, never silently skipped.
	MaxInFlight int
	// Drain is how long operations still in flight when the schedule ends may
	// take before they are cancelled (default 10 s).
	Drain time.Duration
	// LateAfter is how far behind its intended time an operation may start
	// before it counts as late (default 1 ms).
	LateAfter time.Duration
	// Progress, if set, is called about once per ProgressEvery (default 1 s)
	// with the state of the run so far, and once at the end.
	Progress      func(Snapshot)
	ProgressEvery time.Duration
}

// Stop reasons in Result.Stopped.
const (
	StoppedCount    = "count"
	StoppedDuration = "duration"
	StoppedContext  = "context"
)

// Result is a finished run.
type Result struct {
	Name       string        `json:"name"`
	TargetRate float64       `json:"targetRate"`
	Started    time.Time     `json:"started"`
	Elapsed    time.Duration `json:"elapsedNs"`
	Stopped    string        `json:"stopped"`
	// Planned is how many operations the schedule held (Count, or what
	// Duration×Rate allows); Sent how many started; Dropped how many were
	// due but never sent because MaxInFlight was reached until the end.
	Planned int64 `json:"planned"`
	Sent    int64 `json:"sent"`
	Dropped int64 `json:"dropped"`
	// Late counts operations that started more than LateAfter behind their
	// intended time (the generator or the cap held them back).
	Late int64 `json:"late"`
	// SendRate is the achieved rate of starts over the schedule.
	SendRate float64 `json:"sendRate"`
	// Throughput counts successful (2xx) operations per second, from the
	// start to the last completion; UnitsPerSecond the same for units.
	Throughput     float64 `json:"throughput"`
	Units          int64   `json:"units"`
	UnitsPerSecond float64 `json:"unitsPerSecond"`
	Status         Status  `json:"status"`
	// Latency is of the successful operations, from intended time to answer.
	Latency Summary `json:"latency"`
}

// Status counts operations by how they ended.
type Status struct {
	OK        int64            `json:"2xx"`
	Client    int64            `json:"4xx"`
	Server    int64            `json:"5xx"`
	Other     int64            `json:"other"`
	Transport int64            `json:"transport"`
	Canceled  int64            `json:"canceled"`
	Codes     map[int]int64    `json:"codes,omitempty"`
	Errors    map[string]int64 `json:"errors,omitempty"`
}

// Failed counts every operation that did not succeed.
func (s Status) Failed() int64 { return s.Client + s.Server + s.Other + s.Transport + s.Canceled }

// Snapshot is a run in progress.
type Snapshot struct {
	Name     string
	Elapsed  time.Duration
	Sent     int64
	Done     int64
	InFlight int64
	OK       int64
	Failed   int64
	Dropped  int64
	// Rate is the starts per second since the previous snapshot.
	Rate float64
	P99  time.Duration
}

// maxErrorKinds bounds the distinct error texts a result keeps.
const maxErrorKinds = 20

// Run executes op on the schedule of cfg until the schedule is done or ctx
// ends, waits (up to cfg.Drain) for what is in flight, and reports.
// Cancelling ctx also cancels the operations in flight.
func Run(ctx context.Context, cfg Config, op Op) (Result, error) {
	if cfg.Rate <= 0 {
		return Result{}, fmt.Errorf("loadgen: rate must be positive, got %g", cfg.Rate)
	}
	if cfg.Duration <= 0 && cfg.Count <= 0 {
		return Result{}, errors.New("loadgen: give a duration or a count (or both)")
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1000
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.LateAfter <= 0 {
		cfg.LateAfter = time.Millisecond
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	r := &runner{cfg: cfg, op: op, lat: NewRecorder(), codes: map[int]int64{}, errs: map[string]int64{}}
	return r.run(ctx), nil
}

type runner struct {
	cfg Config
	op  Op
	lat *Recorder

	sent, done, ok, failed, dropped, late, inFlight atomic.Int64

	mu       sync.Mutex
	status   Status
	codes    map[int]int64
	errs     map[string]int64
	units    int64
	lastDone time.Time
}

// due is the intended start of operation i. Computing it from i, not by
// adding intervals, keeps rounding from drifting the rate.
func (r *runner) due(start time.Time, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / r.cfg.Rate))
}

// planned is how many operations the schedule holds.
func (r *runner) planned() int64 {
	n := int64(-1)
	if r.cfg.Duration > 0 {
		// Operations due strictly before start+Duration: ceil(Duration×Rate).
		x := r.cfg.Duration.Seconds() * r.cfg.Rate
		n = int64(x)
		if float64(n) < x {
			n++
		}
	}
	if r.cfg.Count > 0 && (n < 0 || r.cfg.Count < n) {
		n = r.cfg.Count
	}
	return n
}

func (r *runner) run(ctx context.Context) Result {
	opCtx, cancelOps := context.WithCancel(ctx)
	defer cancelOps()
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var wg sync.WaitGroup

	start := time.Now()
	planned := r.planned()
	end := time.Time{}
	if r.cfg.Duration > 0 {
		end = start.Add(r.cfg.Duration)
	}
	progressDone := make(chan struct{})
	progressStopped := make(chan struct{})
	go r.progress(start, progressDone, progressStopped)

	stopped := StoppedDuration
	if r.cfg.Count > 0 && planned == r.cfg.Count {
		stopped = StoppedCount
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var endC <-chan time.Time
	if !end.IsZero() {
		endTimer := time.NewTimer(time.Until(end))
		defer endTimer.Stop()
		endC = endTimer.C
	}
	lastSend := start
	var i int64
schedule:
	for ; i < planned; i++ {
		due := r.due(start, i)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				stopped = StoppedContext
				break schedule
			case <-timer.C:
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			// At the cap: wait for a slot. The wait is part of this
			// operation's latency, measured from due.
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				stopped = StoppedContext
				break schedule
			case <-endC:
				r.dropped.Store(planned - i)
				break schedule
			}
		}
		now := time.Now()
		if now.Sub(due) > r.cfg.LateAfter {
			r.late.Add(1)
		}
		lastSend = now
		r.sent.Add(1)
		r.inFlight.Add(1)
		wg.Add(1)
		go func(due time.Time) {
			defer wg.Done()
			out := r.op(opCtx)
			r.record(due, out)
			r.inFlight.Add(-1)
			<-sem
		}(due)
	}
	scheduleEnd := time.Now()

	// Let what is in flight finish, within Drain; then cancel it.
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	drain := time.NewTimer(r.cfg.Drain)
	defer drain.Stop()
	select {
	case <-finished:
	case <-drain.C:
		cancelOps()
		<-finished
	case <-ctx.Done():
		<-finished // opCtx is ctx's child: everything in flight is being cancelled
	}
	close(progressDone)
	<-progressStopped

	res := Result{
		Name: r.cfg.Name, TargetRate: r.cfg.Rate, Started: start, Stopped: stopped,
		Planned: planned, Sent: r.sent.Load(), Dropped: r.dropped.Load(), Late: r.late.Load(),
		Latency: r.lat.Summary(),
	}
	if stopped == StoppedContext {
		res.Planned = res.Sent // the rest of the schedule was abandoned, not dropped
	}
	r.mu.Lock()
	res.Status = r.status
	res.Status.Codes = r.codes
	if len(r.errs) > 0 {
		res.Status.Errors = r.errs
	}
	res.Units = r.units
	last := r.lastDone
	r.mu.Unlock()
	// Sends over the schedule: n starts span n intervals (the last one's
	// interval included), so a perfect schedule gives exactly Rate.
	if span := lastSend.Sub(start).Seconds() + 1/r.cfg.Rate; res.Sent > 0 {
		res.SendRate = float64(res.Sent) / span
	}
	if last.IsZero() {
		last = scheduleEnd
	}
	// At least the schedule's own span (n operations take n intervals), so
	// a short count-bound run is not credited with more than its rate.
	res.Elapsed = max(last.Sub(start), time.Duration(float64(res.Sent)/r.cfg.Rate*float64(time.Second)))
	if s := res.Elapsed.Seconds(); s > 0 {
		res.Throughput = float64(res.Status.OK) / s
		res.UnitsPerSecond = float64(res.Units) / s
	}
	return res
}

func (r *runner) record(due time.Time, out Outcome) {
	now := time.Now()
	r.done.Add(1)
	success := out.Err == nil && out.Status >= 200 && out.Status < 300
	if success {
		r.ok.Add(1)
		r.lat.Record(now.Sub(due))
	} else {
		r.failed.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.After(r.lastDone) {
		r.lastDone = now
	}
	switch {
	case out.Err != nil && errors.Is(out.Err, context.Canceled), out.Err != nil && errors.Is(out.Err, context.DeadlineExceeded):
		r.status.Canceled++
	case out.Err != nil:
		r.status.Transport++
		if k := out.Err.Error(); len(r.errs) < maxErrorKinds || r.errs[k] > 0 {
			r.errs[k]++
		}
	case success:
		r.status.OK++
		r.units += int64(max(out.Units, 1))
	case out.Status >= 400 && out.Status < 500:
		r.status.Client++
	case out.Status >= 500 && out.Status < 600:
		r.status.Server++
	default:
		r.status.Other++
	}
	if out.Err == nil {
		r.codes[out.Status]++
	}
}

func (r *runner) progress(start time.Time, done <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	if r.cfg.Progress == nil {
		return
	}
	tick := time.NewTicker(r.cfg.ProgressEvery)
	defer tick.Stop()
	prevSent, prevAt := int64(0), start
	snap := func() Snapshot {
		now := time.Now()
		sent := r.sent.Load()
		s := Snapshot{
			Name: r.cfg.Name, Elapsed: now.Sub(start), Sent: sent, Done: r.done.Load(),
			InFlight: r.inFlight.Load(), OK: r.ok.Load(), Failed: r.failed.Load(),
			Dropped: r.dropped.Load(), P99: r.lat.Quantile(0.99),
		}
		if d := now.Sub(prevAt).Seconds(); d > 0 {
			s.Rate = float64(sent-prevSent) / d
		}
		prevSent, prevAt = sent, now
		return s
	}
	for {
		select {
		case <-tick.C:
			r.cfg.Progress(snap())
		case <-done:
			r.cfg.Progress(snap())
			return
		}
	}
}

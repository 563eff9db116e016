package loadgen

import (
	"context"
	"fmt"
	"time"
)

// SLO is what a rate must hold to count as sustained.
type SLO struct {
	// P99 bounds the 99th percentile latency (from intended send time).
	P99 time.Duration
	// MaxFailed is the share of operations that may fail (default 0.001).
	MaxFailed float64
	// MinAchieved is the share of the target rate that must complete
	// successfully per second (default 0.95).
	MinAchieved float64
}

// Holds reports whether r meets the SLO, and if not, why.
func (s SLO) Holds(r Result) (bool, string) {
	if s.MaxFailed <= 0 {
		s.MaxFailed = 0.001
	}
	if s.MinAchieved <= 0 {
		s.MinAchieved = 0.95
	}
	switch {
	case r.Sent == 0:
		return false, "nothing sent"
	case r.Dropped > 0:
		return false, fmt.Sprintf("%d dropped at the in-flight cap", r.Dropped)
	case float64(r.Status.Failed()) > s.MaxFailed*float64(r.Sent):
		return false, fmt.Sprintf("%d of %d failed", r.Status.Failed(), r.Sent)
	case s.P99 > 0 && r.Latency.P99 > s.P99:
		return false, fmt.Sprintf("p99 %s > %s", round(r.Latency.P99), s.P99)
	case r.Throughput < s.MinAchieved*r.TargetRate:
		return false, fmt.Sprintf("achieved %.3g/s of %.3g/s", r.Throughput, r.TargetRate)
	}
	return true, ""
}

// Search finds the highest rate that holds an SLO: it doubles the rate from
// From while the SLO holds (halving instead if From already fails), then
// bisects between the last rate that held and the first that did not,
// Refine times. It gives up below From/64. Every step is a run of Step.Duration (and Step.Count).
type Search struct {
	Step   Config
	SLO    SLO
	From   float64
	Max    float64 // stop doubling here (default 1e6)
	Refine int
	// Warmup, if set, runs the operation at From for this long before the
	// first step, unmeasured: a platform just started still connects,
	// recovers its views and fills its caches, and its first step would
	// fail for that rather than for its rate.
	Warmup time.Duration
	// OnStep, if set, hears every step's result and verdict.
	OnStep func(r Result, held bool, why string)
}

// Run returns the best run that held the SLO (zero Result if none did) and
// every step it took.
func (s Search) Run(ctx context.Context, op Op) (best Result, steps []Result, err error) {
	if s.From <= 0 {
		return Result{}, nil, fmt.Errorf("loadgen: search must start at a positive rate, got %g", s.From)
	}
	if s.Max <= 0 {
		s.Max = 1e6
	}
	try := func(rate float64) (bool, error) {
		cfg := s.Step
		cfg.Rate = rate
		r, err := Run(ctx, cfg, op)
		if err != nil {
			return false, err
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		held, why := s.SLO.Holds(r)
		if s.OnStep != nil {
			s.OnStep(r, held, why)
		}
		steps = append(steps, r)
		if held && r.Throughput > best.Throughput {
			best = r
		}
		return held, nil
	}
	if s.Warmup > 0 {
		cfg := s.Step
		cfg.Rate, cfg.Duration, cfg.Count = s.From, s.Warmup, 0
		if _, err := Run(ctx, cfg, op); err != nil {
			return Result{}, nil, fmt.Errorf("loadgen: warm-up: %w", err)
		}
	}
	lo, hi := 0.0, 0.0
	rate := s.From
	held, err := try(rate)
	if err != nil {
		return best, steps, err
	}
	if held {
		lo = rate
		for hi == 0 && rate*2 <= s.Max {
			rate *= 2
			if held, err = try(rate); err != nil {
				return best, steps, err
			}
			if held {
				lo = rate
			} else {
				hi = rate
			}
		}
	} else {
		hi = rate
		for lo == 0 && rate/2 >= s.From/64 {
			rate /= 2
			if held, err = try(rate); err != nil {
				return best, steps, err
			}
			if held {
				lo = rate
			} else {
				hi = rate
			}
		}
	}
	for range s.Refine {
		if lo == 0 || hi == 0 || hi-lo < lo*0.05 {
			break
		}
		mid := (lo + hi) / 2
		if held, err = try(mid); err != nil {
			return best, steps, err
		}
		if held {
			lo = mid
		} else {
			hi = mid
		}
	}
	return best, steps, nil
}

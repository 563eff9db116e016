package loadgen

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 µs to 1 hour at three significant digits, so a
// percentile is exact to 0.1 % anywhere in that range.
const (
	histMin  = int64(1)                            // µs
	histMax  = int64(time.Hour / time.Microsecond) // µs
	histSigs = 3
)

// Recorder collects latencies into an HDR histogram. It is safe for
// concurrent use.
type Recorder struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{h: hdrhistogram.New(histMin, histMax, histSigs)}
}

// Record adds one latency. Values outside the histogram's range are clamped
// to it rather than lost: a latency of two hours is reported as one hour,
// not silently dropped from the tail.
func (r *Recorder) Record(d time.Duration) {
	v := int64(d / time.Microsecond)
	v = min(max(v, histMin), histMax)
	r.mu.Lock()
	_ = r.h.RecordValue(v) // in range by construction
	r.mu.Unlock()
}

// Quantile returns the latency at q (0 to 1), or 0 if nothing was recorded.
func (r *Recorder) Quantile(q float64) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Count is how many latencies were recorded.
func (r *Recorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.h.TotalCount()
}

// Summary returns the usual percentiles of what was recorded so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if r.h.TotalCount() == 0 {
		return Summary{}
	}
	return Summary{
		Count: r.h.TotalCount(),
		Min:   us(r.h.Min()),
		Mean:  time.Duration(r.h.Mean() * float64(time.Microsecond)),
		P50:   us(r.h.ValueAtQuantile(50)),
		P90:   us(r.h.ValueAtQuantile(90)),
		P99:   us(r.h.ValueAtQuantile(99)),
		P999:  us(r.h.ValueAtQuantile(99.9)),
		Max:   us(r.h.Max()),
	}
}

// Summary is a latency distribution in the figures a report shows.
type Summary struct {
	Count                               int64
	Min, Mean, P50, P90, P99, P999, Max time.Duration
}

// MarshalJSON writes the durations as milliseconds (fractions kept), the
// unit people read latency reports in.
func (s Summary) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return json.Marshal(struct {
		Count  int64   `json:"count"`
		MinMs  float64 `json:"minMs"`
		MeanMs float64 `json:"meanMs"`
		P50Ms  float64 `json:"p50Ms"`
		P90Ms  float64 `json:"p90Ms"`
		P99Ms  float64 `json:"p99Ms"`
		P999Ms float64 `json:"p999Ms"`
		MaxMs  float64 `json:"maxMs"`
	}{s.Count, ms(s.Min), ms(s.Mean), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var v struct {
		Count                                             int64
		MinMs, MeanMs, P50Ms, P90Ms, P99Ms, P999Ms, MaxMs float64
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	*s = Summary{Count: v.Count, Min: d(v.MinMs), Mean: d(v.MeanMs), P50: d(v.P50Ms), P90: d(v.P90Ms),
		P99: d(v.P99Ms), P999: d(v.P999Ms), Max: d(v.MaxMs)}
	return nil
}

func (s Summary) String() string {
	if s.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s p99.9=%s max=%s",
		s.Count, round(s.P50), round(s.P90), round(s.P99), round(s.P999), round(s.Max))
}

// round keeps three significant digits of a latency for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

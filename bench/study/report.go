package study

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// WriteMarkdown writes results as a markdown table, one row per case.
func WriteMarkdown(w io.Writer, rs []Result) error {
	var b strings.Builder
	b.WriteString("| partitions | batch | window | overhead | events | calls | mean batch | mean fill | events/s | ceiling/s | achieved/ceiling |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		events := thousands(r.Records)
		if r.Cut {
			events += " (cut)"
		}
		ceiling, ratio := "∞", "—"
		if c := r.Ceiling(); !math.IsInf(c, 1) {
			ceiling, ratio = thousands(int64(math.Round(c))), fmt.Sprintf("%.2f", r.Ratio())
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %s |\n",
			r.Partitions, thousands(int64(r.BatchSize)), ms(r.Window), ms(r.Overhead), events,
			thousands(r.Invocations), r.MeanBatch(), ms(r.MeanFill), thousands(int64(math.Round(r.Rate()))),
			ceiling, ratio)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String sums r up on one line, for progress logs.
func (r Result) String() string {
	s := fmt.Sprintf("%s: %s events in %s calls (mean %.1f, fill %s), %s events/s", r.Case,
		thousands(r.Records), thousands(r.Invocations), r.MeanBatch(), ms(r.MeanFill),
		thousands(int64(math.Round(r.Rate()))))
	if c := r.Ceiling(); !math.IsInf(c, 1) {
		s += fmt.Sprintf(", ceiling %s (%.2f)", thousands(int64(math.Round(c))), r.Ratio())
	}
	if r.Cut {
		s += ", cut at the deadline"
	}
	return s
}

// ms formats d in milliseconds, with a decimal below 10 ms.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v != 0 && v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

// thousands formats n with commas: 25,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// jsonResult is a Result as JSON: durations in milliseconds, the derived
// figures included, and no +Inf (JSON has none: no ceiling is null).
type jsonResult struct {
	Partitions   int      `json:"partitions"`
	BatchSize    int      `json:"batchSize"`
	WindowMS     float64  `json:"windowMs"`
	OverheadMS   float64  `json:"overheadMs"`
	Events       int      `json:"events"`
	Done         int64    `json:"done"`
	Duplicates   int64    `json:"duplicates"`
	PerPartition []int64  `json:"perPartition"`
	Invocations  int64    `json:"invocations"`
	Records      int64    `json:"records"`
	MeanBatch    float64  `json:"meanBatch"`
	MaxBatch     int      `json:"maxBatch"`
	Pauses       int64    `json:"pauses"`
	ElapsedMS    float64  `json:"elapsedMs"`
	StartupMS    float64  `json:"startupMs"`
	MeanFillMS   float64  `json:"meanFillMs"`
	Rate         float64  `json:"eventsPerSecond"`
	Ceiling      *float64 `json:"ceilingPerSecond"`
	Ratio        *float64 `json:"achievedOverCeiling"`
	Cut          bool     `json:"cut"`
}

// MarshalJSON writes r with durations in milliseconds and its derived
// figures (mean batch, rate, ceiling, ratio).
func (r Result) MarshalJSON() ([]byte, error) {
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	j := jsonResult{
		Partitions: r.Partitions, BatchSize: r.BatchSize, WindowMS: msOf(r.Window), OverheadMS: msOf(r.Overhead),
		Events: r.Events, Done: r.Done, Duplicates: r.Duplicates, PerPartition: r.PerPartition,
		Invocations: r.Invocations, Records: r.Records, MeanBatch: r.MeanBatch(), MaxBatch: r.MaxBatch,
		Pauses: r.Pauses, ElapsedMS: msOf(r.Elapsed), StartupMS: msOf(r.Startup), MeanFillMS: msOf(r.MeanFill),
		Rate: r.Rate(), Cut: r.Cut,
	}
	if c := r.Ceiling(); !math.IsInf(c, 1) {
		ratio := r.Ratio()
		j.Ceiling, j.Ratio = &c, &ratio
	}
	return json.Marshal(j)
}

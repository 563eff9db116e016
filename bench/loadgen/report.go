package loadgen

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// ProgressLine returns a Progress callback that writes one line per
// snapshot to w. With overwrite (w is a terminal) each line replaces the
// previous one; otherwise lines follow each other, which suits logs.
func ProgressLine(w io.Writer, overwrite bool) func(Snapshot) {
	return func(s Snapshot) {
		line := fmt.Sprintf("%-10s %5.1fs  sent %-8d %8.0f/s  in-flight %-5d ok %-8d failed %-6d dropped %-6d p99 %s",
			s.Name, s.Elapsed.Seconds(), s.Sent, s.Rate, s.InFlight, s.OK, s.Failed, s.Dropped, round(s.P99))
		if overwrite {
			fmt.Fprintf(w, "\r\033[K%s", line)
			return
		}
		fmt.Fprintln(w, line)
	}
}

// WriteTable writes results as an aligned table, one run per row.
func WriteTable(w io.Writer, results ...Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\ttarget/s\tsent\t2xx\t4xx\t5xx\terr\tdropped\tlate\tops/s\tunits/s\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, r := range results {
		l := r.Latency
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Name, num(r.TargetRate), r.Sent, r.Status.OK, r.Status.Client, r.Status.Server,
			r.Status.Transport+r.Status.Canceled+r.Status.Other, r.Dropped, r.Late,
			num(r.Throughput), num(r.UnitsPerSecond), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max))
	}
	return tw.Flush()
}

// WriteLatencies writes named latency distributions (end-to-end figures,
// which are not runs of their own) as a table.
func WriteLatencies(w io.Writer, names []string, sums []Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "latency\tcount\tp50\tp90\tp99\tp99.9\tmax\t")
	for i, s := range sums {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", names[i], s.Count, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max))
	}
	return tw.Flush()
}

// ms formats a latency in milliseconds with three significant digits.
func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

// Target is one goal of the benchmark: a measured value compared with a
// bound, either directly or as a ratio to a reference measured in the same run.
type Target struct {
	Name string `json:"name"`
	// Value is what was measured; Reference, if not zero, what it is divided
	// by (and Ratio the quotient).
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	Reference float64 `json:"reference,omitempty"`
	RefName   string  `json:"referenceName,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"`
	// Bound is what Ratio (or Value, without a reference) must be at least
	// (AtMost false) or at most (AtMost true).
	Bound  float64 `json:"bound"`
	AtMost bool    `json:"atMost"`
	Met    bool    `json:"met"`
	// Missing is set when a figure could not be measured in this run.
	Missing string `json:"missing,omitempty"`
}

// Judge fills in Ratio and Met.
func (t Target) Judge() Target {
	x := t.Value
	if t.RefName != "" {
		if t.Reference <= 0 {
			t.Met = false
			if t.Missing == "" {
				t.Missing = "no reference figure"
			}
			return t
		}
		t.Ratio = t.Value / t.Reference
		x = t.Ratio
	}
	if t.Missing != "" {
		t.Met = false
		return t
	}
	if t.AtMost {
		t.Met = x <= t.Bound
	} else {
		t.Met = x >= t.Bound
	}
	return t
}

// WriteTargets writes the targets as a table: the measured figure, the
// reference beside it, the ratio and whether the goal was met.
func WriteTargets(w io.Writer, ts []Target) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tmeasured\treference\tratio\tgoal\tmet")
	for _, t := range ts {
		ref, ratio := "", ""
		if t.RefName != "" {
			ref = fmt.Sprintf("%s %s", num(t.Reference), t.RefName)
			ratio = fmt.Sprintf("%.2f", t.Ratio)
		}
		op := "≥"
		if t.AtMost {
			op = "≤"
		}
		goal := fmt.Sprintf("%s %s", op, num(t.Bound))
		if t.RefName == "" {
			goal += " " + t.Unit
		}
		met := "yes"
		switch {
		case t.Missing != "":
			met = "n/a (" + t.Missing + ")"
		case !t.Met:
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", t.Name, num(t.Value), t.Unit, ref, ratio, goal, met)
	}
	return tw.Flush()
}

// num formats a figure with the precision its size deserves.
func num(v float64) string {
	switch {
	case v >= 100 || v == float64(int64(v)):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

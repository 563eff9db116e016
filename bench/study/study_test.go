package study_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/bench/study"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
)

// TestRunCounts runs two small cases on an embedded broker (or the cluster
// of KAFKA_BROKERS) and checks the bookkeeping, not the timing: every event
// is delivered exactly once, the partitions get equal shares, and the calls
// carried exactly the events written.
func TestRunCounts(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	r, err := study.New(study.Config{
		Kafka: kafkatest.Config(brokers, 1),
		// The events are fixed below; the duration only bounds each case.
		Duration: 30 * time.Second,
		CreateTopic: func(_ context.Context, topic string, partitions int) error {
			kafkatest.CreateTopic(t, brokers, topic, partitions, nil)
			return nil
		},
	})
	if err != nil {
		t.Fatalf("New: got %v, want nil", err)
	}
	defer r.Close()

	for _, c := range []study.Case{
		{Partitions: 2, BatchSize: 10, Window: 10 * time.Millisecond, Events: 200},
		{Partitions: 3, BatchSize: 50, Window: 20 * time.Millisecond, Overhead: 5 * time.Millisecond, Events: 600},
	} {
		t.Run(fmt.Sprintf("p%d-b%d", c.Partitions, c.BatchSize), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := r.Run(ctx, c)
			if err != nil {
				t.Fatalf("Run: got %v, want nil", err)
			}
			t.Logf("%+v", res)
			n := int64(c.Events)
			if res.Cut {
				t.Errorf("Cut: got true, want the backlog drained")
			}
			if res.Done != n || res.Duplicates != 0 {
				t.Errorf("done, duplicates: got %d, %d, want %d, 0", res.Done, res.Duplicates, n)
			}
			if res.Records != n {
				t.Errorf("records carried by calls: got %d, want %d", res.Records, n)
			}
			if got := float64(res.Invocations) * res.MeanBatch(); math.Abs(got-float64(n)) > 1e-6 {
				t.Errorf("invocations × mean batch: got %.3f, want %d", got, n)
			}
			if min := n / int64(c.BatchSize); res.Invocations < min {
				t.Errorf("invocations: got %d, want at least %d", res.Invocations, min)
			}
			if res.MaxBatch > c.BatchSize {
				t.Errorf("largest call: got %d, want at most %d", res.MaxBatch, c.BatchSize)
			}
			for p, got := range res.PerPartition {
				if want := n / int64(c.Partitions); got != want {
					t.Errorf("partition %d: got %d events, want %d", p, got, want)
				}
			}
		})
	}
}

func TestCeiling(t *testing.T) {
	for _, tc := range []struct {
		c    study.Case
		want float64
	}{
		{study.Case{Partitions: 5, BatchSize: 1000, Overhead: 200 * time.Millisecond}, 25_000},
		{study.Case{Partitions: 8, BatchSize: 1000, Overhead: 100 * time.Millisecond}, 80_000},
		{study.Case{Partitions: 1, BatchSize: 1, Overhead: 100 * time.Millisecond}, 10},
		{study.Case{Partitions: 4, BatchSize: 100}, math.Inf(1)},
	} {
		if got := tc.c.Ceiling(); got != tc.want {
			t.Errorf("%s: Ceiling() got %v, want %v", tc.c, got, tc.want)
		}
	}
}

func TestGrid(t *testing.T) {
	cs := study.Grid([]int{1, 2, 4, 8}, []int{1, 10, 100, 1000},
		[]time.Duration{10 * time.Millisecond, 200 * time.Millisecond}, []time.Duration{0, 100 * time.Millisecond})
	if got, want := len(cs), 64; got != want {
		t.Fatalf("cases: got %d, want %d", got, want)
	}
	seen := map[study.Case]bool{}
	for _, c := range cs {
		if seen[c] {
			t.Errorf("case %s twice", c)
		}
		seen[c] = true
	}
}

func TestReport(t *testing.T) {
	rs := []study.Result{
		{
			Case: study.Case{Partitions: 5, BatchSize: 1000, Window: 200 * time.Millisecond, Overhead: 200 * time.Millisecond, Events: 75_000},
			Done: 75_000, Records: 75_000, Invocations: 75, Elapsed: 3 * time.Second, MeanFill: 1500 * time.Microsecond,
		},
		{
			Case: study.Case{Partitions: 1, BatchSize: 1, Window: 10 * time.Millisecond, Events: 50_000},
			Done: 20_000, Records: 20_000, Invocations: 20_000, Elapsed: 6 * time.Second, Cut: true,
		},
	}
	var md bytes.Buffer
	if err := study.WriteMarkdown(&md, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| 5 | 1,000 | 200 ms | 200 ms | 75,000 | 75 | 1000.0 | 1.5 ms | 25,000 | 25,000 | 1.00 |",
		"| 1 | 1 | 10 ms | 0 ms | 20,000 (cut) | 20,000 | 1.0 | 0 ms | 3,333 | ∞ | — |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown: got\n%s\nwant a row %s", md.String(), want)
		}
	}

	js, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if got, want := back[0]["achievedOverCeiling"], 1.0; got != want {
		t.Errorf("achievedOverCeiling: got %v, want %v", got, want)
	}
	if got := back[1]["ceilingPerSecond"]; got != nil {
		t.Errorf("ceilingPerSecond without overhead: got %v, want null", got)
	}
}

// The design's arithmetic: 5 partitions (5 functions in parallel), 1,000
// events a call, 200 ms a call.
func ExampleCase_Ceiling() {
	c := study.Case{Partitions: 5, BatchSize: 1000, Window: 200 * time.Millisecond, Overhead: 200 * time.Millisecond}
	fmt.Printf("%s: at most %.0f events/s\n", c, c.Ceiling())
	// Output:
	// 5 partitions, batch 1000, window 200ms, overhead 200ms: at most 25000 events/s
}

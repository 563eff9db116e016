package metrics

import (
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// gather returns the registry's families by name.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// labels renders a metric's labels as name=value,...
func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

func TestTriggerSeries(t *testing.T) {
	m := New()
	s := TriggerStats{Assigned: 3, Batches: 4, Invocations: 5, Records: 4 + 40_000, Processed: 9, DeadLettered: 1,
		Splits: 2, Retries: 6, Pauses: 7, CommitErrors: 8}
	// Sizes 1, 1, 2 and 40,000 in buckets up to 1, 2, 4, ..., 16384 and the rest.
	s.BatchSizes = Histogram{Counts: make([]int64, 16), Sum: 40_004}
	for i := range 15 {
		s.BatchSizes.Bounds = append(s.BatchSizes.Bounds, float64(int(1)<<i))
	}
	s.BatchSizes.Counts[0], s.BatchSizes.Counts[1], s.BatchSizes.Counts[15] = 2, 1, 1
	// Three calls up to 1 ms, one up to 1.024 s, in buckets 1 ms, 2 ms, ..., 16.384 s.
	s.CallDurations = Histogram{Counts: make([]int64, 16), Sum: 1.5}
	for i := range 15 {
		s.CallDurations.Bounds = append(s.CallDurations.Bounds, (time.Millisecond << i).Seconds())
	}
	s.CallDurations.Counts[0], s.CallDurations.Counts[10] = 3, 1
	m.Trigger("notify", func() TriggerStats { return s })
	m.Trigger("analytics", func() TriggerStats { return TriggerStats{} })
	fams := gather(t, m)

	counters := map[string]float64{
		"auction_trigger_invocations_total": 5, "auction_trigger_records_total": 40_004, "auction_trigger_batches_total": 4,
		"auction_trigger_processed_records_total": 9, "auction_trigger_dead_letters_total": 1, "auction_trigger_splits_total": 2,
		"auction_trigger_retries_total": 6, "auction_trigger_pauses_total": 7, "auction_trigger_commit_errors_total": 8,
	}
	for name, want := range counters {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_COUNTER || len(f.Metric) != 2 {
			t.Errorf("%s: got %v, want a counter per function", name, f)
			continue
		}
		// Sorted by function: analytics, then notify.
		if got := f.Metric[1].GetCounter().GetValue(); labels(f.Metric[1]) != "function=notify" || got != want {
			t.Errorf("%s{%s}: got %v, want %v for notify", name, labels(f.Metric[1]), got, want)
		}
	}
	if got := fams["auction_trigger_partitions_assigned"].Metric[1].GetGauge().GetValue(); got != 3 {
		t.Errorf("partitions assigned: got %v, want 3", got)
	}

	h := fams["auction_trigger_batch_size"].Metric[1].GetHistogram()
	if h.GetSampleCount() != 4 || h.GetSampleSum() != 40_004 {
		t.Errorf("batch size count, sum: got %d, %v, want 4, 40004", h.GetSampleCount(), h.GetSampleSum())
	}
	wantBuckets := map[float64]uint64{1: 2, 2: 3, 4: 3, 16384: 3}
	for _, b := range h.GetBucket() {
		if want, ok := wantBuckets[b.GetUpperBound()]; ok && b.GetCumulativeCount() != want {
			t.Errorf("batch size bucket le=%v: got %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	if n := len(h.GetBucket()); n != 15 {
		t.Errorf("batch size buckets: got %d, want 15 (1 to 16384)", n)
	}

	d := fams["auction_trigger_call_duration_seconds"].Metric[1].GetHistogram()
	if d.GetSampleCount() != 4 || d.GetSampleSum() != 1.5 {
		t.Errorf("call duration count, sum: got %d, %v, want 4, 1.5", d.GetSampleCount(), d.GetSampleSum())
	}
	for _, b := range d.GetBucket() {
		want := uint64(3)
		if b.GetUpperBound() >= 1.024 {
			want = 4
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("call duration bucket le=%v: got %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

func TestConsumerLag(t *testing.T) {
	m := New()
	m.ConsumerLag("auction", func() []PartitionLag {
		return []PartitionLag{{Topic: "auction.bids", Partition: 0, Records: 3}, {Topic: "auction.items", Partition: 2, Records: 0}}
	})
	m.ConsumerLag("auction-notify", func() []PartitionLag { return nil })
	m.ConsumerLag("auction-notify", func() []PartitionLag {
		return []PartitionLag{{Topic: "auction.item-complete", Partition: 1, Records: 7}}
	})
	var got []string
	for _, s := range gather(t, m)["auction_consumer_lag"].GetMetric() {
		got = append(got, labels(s)+" "+strings.TrimSpace(s.GetGauge().String()))
	}
	want := []string{
		"group=auction,partition=0,topic=auction.bids value:3",
		"group=auction,partition=2,topic=auction.items value:0",
		"group=auction-notify,partition=1,topic=auction.item-complete value:7",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("auction_consumer_lag:\ngot  %q\nwant %q", got, want)
	}
}

func TestAuctionsOpenedClosed(t *testing.T) {
	m := New()
	m.AuctionOpened()
	m.AuctionOpened()
	m.AuctionClosed("sold")
	fams := gather(t, m)
	if got := fams["auction_auctions_opened_total"].Metric[0].GetCounter().GetValue(); got != 2 {
		t.Errorf("opened: got %v, want 2", got)
	}
	c := fams["auction_auctions_closed_total"].Metric[0]
	if labels(c) != "outcome=sold" || c.GetCounter().GetValue() != 1 {
		t.Errorf("closed: got %s %v, want outcome=sold 1", labels(c), c.GetCounter().GetValue())
	}
}

// TestNilMetrics: a nil *Metrics measures nothing and does not panic.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.AuctionOpened()
	m.AuctionClosed("sold")
	m.Trigger("notify", func() TriggerStats { return TriggerStats{} })
	m.ConsumerLag("auction", func() []PartitionLag { return nil })
	m.Decision(true, "")
	m.DeadLetter("auction")
}

package kafkaio_test

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// TestGroupConsumer: every group consumer gets the settings the flow needs,
// a static id only when one is configured, and its own extras.
func TestGroupConsumer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		instance string
	}{{"dynamic", ""}, {"static", "closer-1"}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := kafkaio.Config{Brokers: []string{"127.0.0.1:9092"}, ClientID: "c", InstanceID: tc.instance}
			m := *cfg.GroupConsumer("g", kafka.ConfigMap{"fetch.wait.max.ms": 100})
			for k, want := range map[string]any{
				"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": false,
				"enable.auto.offset.store": false, "partition.assignment.strategy": "cooperative-sticky",
				"session.timeout.ms": 10000, "fetch.wait.max.ms": 100, "bootstrap.servers": "127.0.0.1:9092",
			} {
				if got := m[k]; got != want {
					t.Errorf("%s: got %v, want %v", k, got, want)
				}
			}
			got, set := m["group.instance.id"]
			if (tc.instance != "") != set || (set && got != tc.instance) {
				t.Errorf("group.instance.id: got %v (set %v), want %q", got, set, tc.instance)
			}
		})
	}
}

// TestOrphaned: a member is stuck only once RejoinAfter has passed since
// it lost its assignment with nothing assigned since.
func TestOrphaned(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	after := kafkaio.RejoinAfter
	var o kafkaio.Orphaned
	if o.Stuck(t0.Add(time.Hour), after) {
		t.Fatal("never lost: got stuck, want not")
	}
	o.Lost(t0)
	o.Lost(t0.Add(after / 2)) // a second loss does not restart the clock
	if o.Stuck(t0.Add(after-time.Millisecond), after) {
		t.Fatal("just before RejoinAfter: got stuck, want not")
	}
	if !o.Stuck(t0.Add(after), after) {
		t.Fatal("RejoinAfter after the loss: got not stuck, want stuck")
	}
	o.Assigned()
	if o.Stuck(t0.Add(2*after), after) {
		t.Fatal("assigned again: got stuck, want not")
	}
	o.Lost(t0.Add(3 * after))
	o.Reset()
	if o.Stuck(t0.Add(5*after), after) {
		t.Fatal("after Reset: got stuck, want not")
	}
}

func TestReconnect(t *testing.T) {
	ms := time.Millisecond
	for attempt, want := range map[int]time.Duration{1: 200 * ms, 2: 400 * ms, 3: 800 * ms, 4: 1600 * ms, 5: 2000 * ms, 50: 2000 * ms} {
		if got := kafkaio.Reconnect(attempt); got != want {
			t.Errorf("attempt %d: got %s, want %s", attempt, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tt := range []struct {
		attempt     int
		first, most time.Duration
		want        time.Duration
	}{
		{1, 100 * ms, 5 * time.Second, 100 * ms}, {2, 100 * ms, 5 * time.Second, 200 * ms},
		{6, 100 * ms, 5 * time.Second, 3200 * ms}, {7, 100 * ms, 5 * time.Second, 5 * time.Second},
		{1 << 20, 100 * ms, 5 * time.Second, 5 * time.Second}, {3, 300 * ms, 100 * ms, 100 * ms},
	} {
		if got := kafkaio.Backoff(tt.attempt, tt.first, tt.most); got != tt.want {
			t.Errorf("Backoff(%d, %s, %s): got %s, want %s", tt.attempt, tt.first, tt.most, got, tt.want)
		}
	}
}

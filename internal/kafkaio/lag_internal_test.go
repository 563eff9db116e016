package kafkaio

import (
	"slices"
	"testing"
)

// TestLagsOf reads the lag of the owned partitions from librdkafka's
// statistics (trimmed to what lagsOf reads).
func TestLagsOf(t *testing.T) {
	const stats = `{"topics":{"t":{"partitions":{
		"0":{"partition":0,"consumer_lag":5,"hi_offset":20,"lo_offset":0,"committed_offset":15},
		"1":{"partition":1,"consumer_lag":-1,"hi_offset":7,"lo_offset":2,"committed_offset":-1001},
		"2":{"partition":2,"consumer_lag":-1,"hi_offset":-1001,"lo_offset":-1001,"committed_offset":-1001},
		"3":{"partition":3,"consumer_lag":9,"hi_offset":9,"lo_offset":0,"committed_offset":0},
		"-1":{"partition":-1,"consumer_lag":-1,"hi_offset":-1001,"lo_offset":-1001,"committed_offset":-1001}}}}}`
	owned := map[partitionKey]bool{{"t", 1}: true, {"t", 0}: true, {"t", 2}: true, {"u", 0}: true}
	got, err := lagsOf(stats, owned)
	if err != nil {
		t.Fatal(err)
	}
	// 0: committed 15 of 20; 1: never committed, 2..7 to do; 2: end not
	// known yet; 3: not owned; u/0: not in the statistics yet.
	want := []Lag{{"t", 0, 5}, {"t", 1, 5}}
	if !slices.Equal(got, want) {
		t.Fatalf("lags: got %+v, want %+v", got, want)
	}
	if _, err := lagsOf("not json", owned); err == nil {
		t.Fatal("unreadable statistics: got no error, want one")
	}
}

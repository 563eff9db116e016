package main

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"
)

// TestFailedStartStopsWhatStarted: when a component cannot start (here the
// gateway, its port taken), run stops the components already running and
// returns only once their loops have all returned, with the reason.
func TestFailedStartStopsWhatStarted(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	env := map[string]string{
		"AUCTION_HTTP_ADDR": taken.Addr().String(), "AUCTION_PARTITIONS": "3",
		"AUCTION_EMBEDDED_KAFKA_PORT": strconv.Itoa(freePort(t)),
	}
	var started []string
	running := int64(-1)
	renv := runEnv{
		getenv: func(k string) string { return env[k] }, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{},
		started:  func(target string) { started = append(started, target) },
		returned: func(n int64) { running = n },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, nil, renv)
	if err == nil || !strings.Contains(err.Error(), "start gateway") || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("run: got %v, want the gateway's failure to listen on %s", err, taken.Addr())
	}
	if ctx.Err() != nil {
		t.Fatalf("run returned only when the test's deadline passed: %v", ctx.Err())
	}
	want := []string{targetProcessor, targetCloser, targetNotify, targetAnalytics, targetLineage}
	if !slices.Equal(started, want) {
		t.Errorf("started before the gateway: got %v, want %v", started, want)
	}
	if running != 0 {
		t.Errorf("component loops still running as run returned: got %d, want 0", running)
	}
}

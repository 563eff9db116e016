package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsMoveWithTraffic scrapes /metrics before and after an item and
// two bids and checks that the key series moved by the right amounts.
func TestMetricsMoveWithTraffic(t *testing.T) {
	p := startPlatform(t, nil)
	before := scrape(t, p.base+"/metrics")
	item := placeItem(t, p, p.token(t, "alice@example.com"),
		`{"title":"Lamp","category":"lamps","currency":"EUR","startingPrice":1000,"durationSeconds":60}`)
	if status, body := bid(t, p, p.token(t, "bob@example.com"), item, "1500", "wait=5"); status != http.StatusOK {
		t.Fatalf("bid: got %d %s, want 200", status, body)
	}
	if status, body := bid(t, p, p.token(t, "carol@example.com"), item, "1501", "wait=5"); status != http.StatusConflict {
		t.Fatalf("bid: got %d %s, want 409", status, body)
	}
	after := scrape(t, p.base+"/metrics")

	tests := []struct {
		series string
		want   float64
	}{
		{`auction_http_requests_total{code="202",method="POST",route="/v1/items"}`, 1},
		{`auction_http_requests_total{code="200",method="POST",route="/v1/items/{itemId}/bids"}`, 1},
		{`auction_http_requests_total{code="409",method="POST",route="/v1/items/{itemId}/bids"}`, 1},
		{`auction_function_invocations_total{function="placeitem",outcome="ok"}`, 1},
		{`auction_function_invocations_total{function="placebid",outcome="ok"}`, 2},
		{`auction_processor_decisions_total{outcome="accepted",reason=""}`, 1},
		{`auction_processor_decisions_total{outcome="rejected",reason="below_minimum_increment"}`, 1},
	}
	for _, tt := range tests {
		if got := after[tt.series] - before[tt.series]; got != tt.want {
			t.Errorf("%s moved by %v, want %v", tt.series, got, tt.want)
		}
	}
	if after[`auction_function_cold_start_seconds{function="placebid"}`] <= 0 {
		t.Errorf("placebid cold start: got %v, want > 0", after[`auction_function_cold_start_seconds{function="placebid"}`])
	}
}

// sample is one line of the exposition; label values may hold braces
// (route patterns like /v1/items/{itemId}).
var sample = regexp.MustCompile(`^([a-z_]+(?:\{.*\})?) ([0-9.eE+-]+|NaN|[+-]Inf)$`)

// scrape reads a Prometheus text exposition into series → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", url, resp.StatusCode)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := sample.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err == nil {
				out[m[1]] = v
			}
		}
	}
	return out
}

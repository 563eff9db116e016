package setup

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/auctionflow/auction/services/gateway"
)

func TestRateLimit(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want gateway.RateLimit
		err  string
	}{
		{env: map[string]string{}, want: gateway.DefaultRateLimit},
		{env: map[string]string{"AUCTION_RATE_LIMIT": "0", "AUCTION_RATE_BURST": "7"}, want: gateway.RateLimit{Rate: 0, Burst: 7}},
		{env: map[string]string{"AUCTION_RATE_LIMIT": "2.5"}, want: gateway.RateLimit{Rate: 2.5, Burst: gateway.DefaultRateLimit.Burst}},
		{env: map[string]string{"AUCTION_RATE_LIMIT": "-1"}, err: "AUCTION_RATE_LIMIT"},
		{env: map[string]string{"AUCTION_RATE_BURST": "0"}, err: "AUCTION_RATE_BURST"},
	} {
		got, err := rateLimit(func(k string) string { return tt.env[k] })
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: %v, want an error naming %s", tt.env, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: %+v, %v; want %+v", tt.env, got, err, tt.want)
		}
	}
}

// TestEdgeRefusesToStart: without the signing key, or with a short one,
// the init phase fails before it connects to anything.
func TestEdgeRefusesToStart(t *testing.T) {
	for key, want := range map[string]string{"": "AUCTION_JWT_KEY is not set", "short": "at least 32 bytes"} {
		env := map[string]string{"AUCTION_JWT_KEY": key, "AUCTION_KAFKA_BROKERS": "127.0.0.1:1"}
		_, err := newEdge(context.Background(), func(k string) string { return env[k] }, "test", slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key %q: %v, want an error saying %q", key, err, want)
		}
	}
}

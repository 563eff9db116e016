package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/auctionflow/auction/internal/cli"
)

// TestExitCode: help of any command exits 0 with the flags on stderr, a
// mistake exits non-zero and says why.
func TestExitCode(t *testing.T) {
	tests := []struct {
		args       []string
		want       int
		wantStderr string
	}{
		{[]string{"help"}, 0, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"run", "-h"}, 0, "-target"},
		{[]string{"init", "-h"}, 0, "-brokers"},
		{nil, 2, "usage:"},
		{[]string{"nonsense"}, 1, `unknown command "nonsense"`},
		{[]string{"run", "-no-such-flag"}, 1, "no-such-flag"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := dispatch(context.Background(), tt.args, func(string) string { return "" }, io.Discard, &stderr)
		if got := cli.ExitCode("auction", err, &stderr); got != tt.want || !bytes.Contains(stderr.Bytes(), []byte(tt.wantStderr)) {
			t.Errorf("auction %v: exit %d, stderr %q; want exit %d and stderr mentioning %q", tt.args, got, stderr.String(), tt.want, tt.wantStderr)
		}
	}
}

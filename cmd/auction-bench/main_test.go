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
		{[]string{"loadgen", "-h"}, 0, "-rate"},
		{[]string{"study", "-h"}, 0, "-partitions"},
		{nil, 2, "usage:"},
		{[]string{"nonsense"}, 1, `unknown command "nonsense"`},
		{[]string{"run"}, 1, `unknown command "run"`},
		{[]string{"loadgen", "-no-such-flag"}, 1, "no-such-flag"},
		{[]string{"study", "-batch", "0"}, 1, "-batch"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := dispatch(context.Background(), tt.args, io.Discard, &stderr)
		if got := cli.ExitCode("auction-bench", err, &stderr); got != tt.want || !bytes.Contains(stderr.Bytes(), []byte(tt.wantStderr)) {
			t.Errorf("auction-bench %v: exit %d, stderr %q; want exit %d and stderr mentioning %q", tt.args, got, stderr.String(), tt.want, tt.wantStderr)
		}
	}
}

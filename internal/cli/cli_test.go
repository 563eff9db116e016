package cli_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/auctionflow/auction/internal/cli"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		err        error
		want       int
		wantStderr string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{fmt.Errorf("run: %w", flag.ErrHelp), 0, ""},
		{cli.ErrUsage, 2, ""},
		{errors.New("listen on :80: denied"), 1, "cmd: listen on :80: denied\n"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if got := cli.ExitCode("cmd", tt.err, &stderr); got != tt.want || stderr.String() != tt.wantStderr {
			t.Errorf("ExitCode(%v): got %d, stderr %q; want %d, %q", tt.err, got, stderr.String(), tt.want, tt.wantStderr)
		}
	}
}

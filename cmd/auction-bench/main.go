// Command auction-bench measures the platform from outside: `auction-bench
// loadgen` drives a running platform over HTTP at a fixed rate (and reads
// its result topics for end-to-end latency), and `auction-bench study` runs
// the Kafka trigger's batching study on a broker of its own. It is tooling,
// not a component: the product binary is cmd/auction, and nothing of the
// product imports the bench tree.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/auctionflow/auction/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.ExitCode("auction-bench", dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

const usage = `auction-bench — load generation and measurements of the auction platform

usage:
  auction-bench loadgen [flags]
                         drive a platform over HTTP at a fixed rate and report
                         latency percentiles (auction-bench loadgen -h lists the flags)
  auction-bench study [flags]
                         the batching study of the Kafka trigger (-h lists the flags)
`

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.ErrUsage
	}
	switch args[0] {
	case "loadgen":
		return loadCommand(ctx, args[1:], stdout, stderr)
	case "study":
		return studyCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

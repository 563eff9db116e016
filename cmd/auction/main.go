// Command auction is the platform in one binary. `auction run` starts the
// components chosen with -target (default all: every component in one
// process, on an embedded Kafka broker when no brokers are configured).
package main

import (
	"context"
	"flag"
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
	os.Exit(cli.ExitCode("auction", dispatch(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr))
}

const usage = `auction — the event-driven auction platform

usage:
  auction run [flags]    start components (auction run -h lists the flags)
  auction init [flags]   create the Kafka topics and DynamoDB tables, then exit
  auction healthcheck URL
                         exit 0 if URL answers 200 (for container healthchecks)
  auction env            print the AUCTION_* settings as a markdown table
`

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.ErrUsage
	}
	switch args[0] {
	case "run":
		return run(ctx, args[1:], runEnv{getenv: getenv, stdout: stdout, stderr: stderr})
	case "env":
		var c config
		vars, err := c.bind(flag.NewFlagSet("env", flag.ContinueOnError), func(string) string { return "" })
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, envTable(vars))
		return nil
	case "init":
		return initialise(ctx, args[1:], runEnv{getenv: getenv, stdout: stdout, stderr: stderr})
	case "healthcheck":
		if len(args) != 2 {
			return fmt.Errorf("usage: auction healthcheck URL")
		}
		return healthcheck(ctx, args[1])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

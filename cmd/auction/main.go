// Command auction is the platform in one binary. `auction run` starts the
// components chosen with -target (default all: every component in one
// process, on an embedded Kafka broker when no brokers are configured).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(dispatch(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr))
}

// errUsage is a command line without a command: the usage is printed.
var errUsage = errors.New("no command")

// exitCode is the process's exit status after dispatch returned err: 0 when
// it succeeded or help was asked for (-h, of any command), 2 for a command
// line without a command, 1 for any other failure, which it prints.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "auction:", err)
	return 1
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
		return errUsage
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

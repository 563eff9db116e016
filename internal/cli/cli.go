// Package cli holds what the repository's commands (auction, auction-bench)
// share about their command lines: how a run's outcome becomes the
// process's exit status.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// ErrUsage is a command line without a command; the command has printed
// its usage.
var ErrUsage = errors.New("no command")

// ExitCode is the exit status of command after it returned err: 0 when it
// succeeded or help was asked for (-h, of any subcommand: flag.ErrHelp), 2
// for a command line without a command (ErrUsage), 1 for any other failure,
// which it prints to stderr after the command's name.
func ExitCode(command string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", command, err)
	return 1
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/auctionflow/auction/bench/study"
	"github.com/auctionflow/auction/internal/embedbroker"
	"github.com/auctionflow/auction/internal/kafkaio"
)

// studyCommand is `auction-bench study`: the batching study of the Kafka
// trigger (see bench/study) over a grid of cases, printed as a markdown
// table, and optionally written as JSON.
func studyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("study", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "Kafka bootstrap servers, comma-separated (default: an embedded broker)")
	partitions := fs.String("partitions", "1,2,4,8", "partition counts, comma-separated")
	batches := fs.String("batch", "1,10,100,1000", "batch sizes, comma-separated")
	windows := fs.String("window", "10ms,200ms", "batch windows, comma-separated")
	overheads := fs.String("overhead", "0,100ms", "simulated cost of a call, comma-separated")
	duration := fs.Duration("duration", study.DefaultDuration, "how long a case should take (its events: ceiling × duration); cut at twice that")
	maxEvents := fs.Int("max-events", study.DefaultMaxEvents, "most events a case pre-fills")
	jsonFile := fs.String("json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("study: unexpected arguments %q", fs.Args())
	}
	ps, err := intList("partitions", *partitions)
	if err != nil {
		return err
	}
	bs, err := intList("batch", *batches)
	if err != nil {
		return err
	}
	ws, err := durationList("window", *windows)
	if err != nil {
		return err
	}
	overheadList, err := durationList("overhead", *overheads)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	addrs := splitList(*brokers)
	if len(addrs) == 0 {
		b, err := embedbroker.Start(0)
		if err != nil {
			return err
		}
		defer b.Close()
		addrs = b.Addrs()
	}
	r, err := study.New(study.Config{
		Kafka:     kafkaio.Config{Brokers: addrs, ClientID: "auction-study", Replication: 1},
		Duration:  *duration,
		MaxEvents: *maxEvents,
		Log:       log,
	})
	if err != nil {
		return err
	}
	defer r.Close()

	cases := study.Grid(ps, bs, ws, overheadList)
	fmt.Fprintf(stderr, "study: %d cases on %s\n", len(cases), strings.Join(addrs, ","))
	var results []study.Result
	for i, c := range cases {
		res, err := r.Run(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "study: %d/%d %s\n", i+1, len(cases), res)
		results = append(results, res)
	}
	if err := study.WriteMarkdown(stdout, results); err != nil {
		return err
	}
	if *jsonFile == "" {
		return nil
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*jsonFile, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("study: -%s %q: want positive integers", name, s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("study: -%s is empty", name)
	}
	return out, nil
}

// durationList parses durations; a bare 0 is zero.
func durationList(name, s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range splitList(s) {
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("study: -%s %q: want durations such as 10ms", name, s)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("study: -%s is empty", name)
	}
	return out, nil
}

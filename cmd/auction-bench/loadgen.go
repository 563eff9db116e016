package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/auctionflow/auction/bench/loadgen"
	"github.com/auctionflow/auction/bench/loadgen/kafkaload"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// pipelineBatches is the burst of the suite's pipeline measurement: enough
// batches that the processor's pace, not the start, decides the figure.
const pipelineBatches = 20

const loadgenUsage = `auction-bench loadgen — drive the API at a fixed rate and measure it

usage:
  auction-bench loadgen [flags]

scenarios (-scenario):
  bid      single bids, POST /v1/items/{id}/bids (default)
  batch    batches of -batch bids, POST /v1/bids
  auction  whole auctions: place an item ending after -auction-duration,
           bid -auction-bids times, wait until it is closed
  suite    the benchmark: the sustained rate (p99 ≤ -slo) of the minimal
           reference handler and of single bids, the sustained batched rate,
           verdict latency at 20 % of the single-bid rate, pipeline
           efficiency, close latency and the raw broker baseline, all in one
           run, then every target as a ratio (needs -brokers for the Kafka parts)

Load is open loop: requests are due at a fixed rate and latency counts from
when each was due (no coordinated omission). -reference runs the scenario
against the built-in minimal handler instead of -url; -e2e also measures
verdict and close latency from event timestamps on the result topics, and
-baseline the broker's raw produce and consume throughput (both need -brokers).

flags:
`

// loadgenFlags are the settings of `auction-bench loadgen`.
type loadgenFlags struct {
	url, scenario, jsonOut, brokers string
	rate                            float64
	duration, drain                 time.Duration
	count                           int64
	batch, maxInFlight              int
	reference, baseline, e2e, quiet bool
	users, items                    int
	auctionDuration, grace          time.Duration
	itemDuration, warmup            time.Duration
	auctionBids                     int
	partitions, baselineRecords     int
	step, slo, batchSLO             time.Duration
	from, batchFrom                 float64
	auctions                        int
}

func (f *loadgenFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "http://localhost:8080", "base URL of the API")
	fs.StringVar(&f.scenario, "scenario", "bid", "bid, batch, auction or suite")
	fs.Float64Var(&f.rate, "rate", 100, "operations per second (requests; auctions for -scenario auction)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long to send (0: until -count)")
	fs.Int64Var(&f.count, "count", 0, "stop after this many operations (0: until -duration)")
	fs.IntVar(&f.batch, "batch", 1000, "bids per request of -scenario batch (1 to 1000)")
	fs.IntVar(&f.maxInFlight, "max-inflight", 2000, "most operations in flight at once; more are held and their wait counted")
	fs.DurationVar(&f.drain, "drain", 15*time.Second, "how long operations in flight at the end may take before they are cancelled")
	fs.StringVar(&f.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&f.reference, "reference", false, "run against the built-in minimal handler (decode the body, answer 202) instead of -url")
	fs.BoolVar(&f.baseline, "baseline", false, "measure the broker's raw produce and consume throughput (needs -brokers)")
	fs.BoolVar(&f.e2e, "e2e", false, "measure verdict and close latency on the result topics (needs -brokers)")
	fs.StringVar(&f.brokers, "brokers", "", "Kafka bootstrap servers of the platform, comma-separated")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress line")
	fs.IntVar(&f.users, "users", 8, "bidders to register (tokens are used round robin; each has its own rate limit)")
	fs.IntVar(&f.items, "items", 16, "open items the bids go to")
	fs.DurationVar(&f.itemDuration, "item-duration", time.Hour, "how long the items the bids go to stay open (at least 10s)")
	fs.DurationVar(&f.auctionDuration, "auction-duration", 10*time.Second, "how long each auction of -scenario auction runs (at least 10s)")
	fs.IntVar(&f.auctionBids, "auction-bids", 5, "bids per auction")
	fs.IntVar(&f.auctions, "auctions", 20, "auctions the suite runs")
	fs.DurationVar(&f.warmup, "warmup", 3*time.Second, "unmeasured load at the first rate before each of the suite's searches")
	fs.DurationVar(&f.grace, "grace", 0, "the platform's AUCTION_CLOSE_GRACE, to measure close latency over HTTP (0: only with -e2e)")
	fs.IntVar(&f.partitions, "partitions", schemas.DefaultPartitions, "partitions of the baseline's topic (use the platform's AUCTION_PARTITIONS)")
	fs.IntVar(&f.baselineRecords, "baseline-records", 200_000, "records per phase of the baseline")
	fs.DurationVar(&f.step, "step", 5*time.Second, "length of each step of the suite's rate search")
	fs.DurationVar(&f.slo, "slo", 20*time.Millisecond, "p99 accept latency a sustained single-bid rate must hold")
	fs.DurationVar(&f.batchSLO, "batch-slo", time.Second, "p99 latency a sustained batch rate must hold")
	fs.Float64Var(&f.from, "from", 200, "single-bid rate the suite's search starts at")
	fs.Float64Var(&f.batchFrom, "batch-from", 2, "batch rate (requests/s) the suite's search starts at")
}

// loadReport is the JSON of a loadgen run.
type loadReport struct {
	Started  time.Time                   `json:"started"`
	URL      string                      `json:"url"`
	Brokers  string                      `json:"brokers,omitempty"`
	Runs     []loadgen.Result            `json:"runs"`
	Searches map[string][]loadgen.Result `json:"searches,omitempty"`
	E2E      map[string]kafkaload.E2E    `json:"e2e,omitempty"`
	Baseline *kafkaload.Baseline         `json:"baseline,omitempty"`
	Targets  []loadgen.Target            `json:"targets,omitempty"`
}

// loadCommand is `auction-bench loadgen`.
func loadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f loadgenFlags
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, loadgenUsage); fs.PrintDefaults() }
	f.bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (f.e2e || f.baseline) && f.brokers == "" {
		return errors.New("loadgen: -e2e and -baseline need -brokers")
	}
	if f.batch < 1 || f.batch > 1000 {
		return fmt.Errorf("loadgen: -batch must be 1 to 1000, got %d", f.batch)
	}
	l := &loadgenRun{f: f, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		rep: loadReport{Started: time.Now().UTC(), URL: f.url, Brokers: f.brokers,
			Searches: map[string][]loadgen.Result{}, E2E: map[string]kafkaload.E2E{}}}
	if file, ok := stderr.(*os.File); ok {
		if st, err := file.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			l.tty = true
		}
	}
	var err error
	switch f.scenario {
	case "bid", "batch":
		err = l.requests(ctx)
	case "auction":
		err = l.auctions(ctx)
	case "suite":
		err = l.suite(ctx)
	default:
		return fmt.Errorf("loadgen: unknown scenario %q (bid, batch, auction or suite)", f.scenario)
	}
	if err == nil && f.baseline && f.scenario != "suite" {
		err = l.runBaseline(ctx)
	}
	if werr := l.write(); err == nil {
		err = werr
	}
	return err
}

type loadgenRun struct {
	f              loadgenFlags
	stdout, stderr io.Writer
	tty            bool
	log            *slog.Logger
	rep            loadReport
}

func (l *loadgenRun) kafka() kafkaio.Config {
	return kafkaio.Config{Brokers: strings.Split(l.f.brokers, ","), ClientID: "loadgen",
		Partitions: l.f.partitions, Replication: 1, DeliveryTimeout: 10 * time.Second}
}

func (l *loadgenRun) config(name string, rate float64) loadgen.Config {
	c := loadgen.Config{Name: name, Rate: rate, Duration: l.f.duration, Count: l.f.count,
		MaxInFlight: l.f.maxInFlight, Drain: l.f.drain}
	if !l.f.quiet {
		c.Progress = loadgen.ProgressLine(l.stderr, l.tty)
	}
	return c
}

// endLine ends an overwritten progress line.
func (l *loadgenRun) endLine() {
	if l.tty && !l.f.quiet {
		fmt.Fprintln(l.stderr)
	}
}

// target starts the reference handler when asked to, and returns the base
// URL to load.
func (l *loadgenRun) target(reference bool) (string, func(), error) {
	if !reference {
		return l.f.url, func() {}, nil
	}
	return loadgen.ServeReference()
}

func (l *loadgenRun) prepare(ctx context.Context, c *loadgen.Client, items int) (*loadgen.Fixture, error) {
	fmt.Fprintf(l.stderr, "preparing %d bidders and %d items at %s\n", l.f.users, items, c.Base)
	return c.Prepare(ctx, loadgen.Setup{Bidders: l.f.users, Items: items, ItemDuration: l.f.itemDuration})
}

// observe starts an observer; stop ends it and returns what it measured.
func (l *loadgenRun) observe(ctx context.Context) (*kafkaload.Observer, func() kafkaload.E2E, error) {
	o, err := kafkaload.NewObserver(l.kafka(), l.log)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	return o, func() kafkaload.E2E {
		cancel()
		if err := <-done; err != nil {
			l.log.Warn("observer", "err", err)
		}
		return o.Result()
	}, nil
}

// requests runs -scenario bid or batch once, at -rate.
func (l *loadgenRun) requests(ctx context.Context) error {
	base, stop, err := l.target(l.f.reference)
	if err != nil {
		return err
	}
	defer stop()
	c := loadgen.NewClient(base, l.f.maxInFlight)
	defer c.Close()
	fx, err := l.prepare(ctx, c, max(1, l.f.items))
	if err != nil {
		return err
	}
	op, name := fx.BidOp(c), "bid"
	if l.f.scenario == "batch" {
		op, name = fx.BatchOp(c, l.f.batch), fmt.Sprintf("batch×%d", l.f.batch)
	}
	if l.f.reference {
		name += "@reference"
	}
	if !l.f.e2e || l.f.reference {
		_, err := l.run(ctx, l.config(name, l.f.rate), op)
		return err
	}
	_, _, err = l.measured(ctx, l.config(name, l.f.rate), fx, op, "verdict")
	return err
}

func (l *loadgenRun) run(ctx context.Context, cfg loadgen.Config, op loadgen.Op) (loadgen.Result, error) {
	r, err := loadgen.Run(ctx, cfg, op)
	l.endLine()
	if err != nil {
		return r, err
	}
	l.rep.Runs = append(l.rep.Runs, r)
	return r, ctx.Err()
}

// measured runs op at rate with an observer tracking the fixture's items,
// then waits (up to a minute) for a verdict on every bid that got into the
// log, and records the end-to-end figures under key.
func (l *loadgenRun) measured(ctx context.Context, cfg loadgen.Config, fx *loadgen.Fixture, op loadgen.Op, key string) (loadgen.Result, kafkaload.E2E, error) {
	o, stop, err := l.observe(ctx)
	if err != nil {
		return loadgen.Result{}, kafkaload.E2E{}, err
	}
	for _, it := range fx.Items {
		o.Track(it.ID)
	}
	r, err := l.run(ctx, cfg, op)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		if werr := o.Wait(wctx, r.Units, 0); werr != nil {
			fmt.Fprintf(l.stderr, "%s: %v\n", cfg.Name, werr)
		}
		cancel()
	}
	e := stop()
	l.rep.E2E[key] = e
	return r, e, err
}

// auctions runs -scenario auction once.
func (l *loadgenRun) auctions(ctx context.Context) error {
	c := loadgen.NewClient(l.f.url, l.f.maxInFlight)
	defer c.Close()
	fx, err := l.prepare(ctx, c, 0)
	if err != nil {
		return err
	}
	cfg := l.config("auction", l.f.rate)
	_, err = l.runAuctions(ctx, c, fx, cfg)
	return err
}

func (l *loadgenRun) runAuctions(ctx context.Context, c *loadgen.Client, fx *loadgen.Fixture, cfg loadgen.Config) (loadgen.Result, error) {
	a := &loadgen.Auctions{Fixture: fx, Client: c, Duration: l.f.auctionDuration, Bids: l.f.auctionBids, Grace: l.f.grace}
	if l.f.grace > 0 {
		a.Closes = loadgen.NewRecorder()
	}
	// An auction takes its duration plus the grace: let the last ones finish.
	cfg.Drain = max(cfg.Drain, l.f.auctionDuration+l.f.grace+time.Minute)
	var (
		o    *kafkaload.Observer
		stop func() kafkaload.E2E
	)
	if l.f.brokers != "" {
		var err error
		if o, stop, err = l.observe(ctx); err != nil {
			return loadgen.Result{}, err
		}
		a.OnItem = func(id string) { o.Track(id) }
	}
	r, err := l.run(ctx, cfg, a.Op())
	if o != nil {
		if err == nil {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if werr := o.Wait(wctx, 0, int(r.Status.OK)); werr != nil {
				fmt.Fprintf(l.stderr, "auction: %v\n", werr)
			}
			cancel()
		}
		l.rep.E2E["auction"] = stop()
	}
	if a.Closes != nil {
		l.rep.E2E["auction-http"] = kafkaload.E2E{Close: a.Closes.Summary(), Completed: int(a.Closes.Count())}
	}
	return r, err
}

func (l *loadgenRun) runBaseline(ctx context.Context) error {
	fmt.Fprintf(l.stderr, "baseline: %d records per phase on %s\n", l.f.baselineRecords, l.f.brokers)
	b, err := kafkaload.RunBaseline(ctx, kafkaload.BaselineConfig{Kafka: l.kafka(), Records: l.f.baselineRecords}, l.log)
	if err != nil {
		return err
	}
	l.rep.Baseline = &b
	return nil
}

// suite is the benchmark: every figure the targets need, in one run.
func (l *loadgenRun) suite(ctx context.Context) error {
	if l.f.brokers == "" {
		fmt.Fprintln(l.stderr, "suite: no -brokers, so no verdict, close, efficiency or baseline figures")
	}
	search := func(name string, base string, from float64, slo time.Duration, op func(*loadgen.Client, *loadgen.Fixture) loadgen.Op) (loadgen.Result, error) {
		c := loadgen.NewClient(base, l.f.maxInFlight)
		defer c.Close()
		fx, err := l.prepare(ctx, c, l.f.items)
		if err != nil {
			return loadgen.Result{}, err
		}
		step := l.config(name, 0)
		step.Duration, step.Count = l.f.step, 0
		best, steps, err := loadgen.Search{Step: step, SLO: loadgen.SLO{P99: slo}, From: from, Refine: 3, Warmup: l.f.warmup,
			OnStep: func(r loadgen.Result, held bool, why string) {
				l.endLine()
				verdict := "holds"
				if !held {
					verdict = "fails: " + why
				}
				fmt.Fprintf(l.stderr, "%s at %s/s: %s ok/s, p99 %s — %s\n", name, perSecond(r.TargetRate), perSecond(r.Throughput), r.Latency.P99, verdict)
			}}.Run(ctx, op(c, fx))
		l.rep.Searches[name] = steps
		if best.Sent > 0 {
			l.rep.Runs = append(l.rep.Runs, best)
		}
		return best, err
	}
	bidOp := func(c *loadgen.Client, fx *loadgen.Fixture) loadgen.Op { return fx.BidOp(c) }
	batchOp := func(c *loadgen.Client, fx *loadgen.Fixture) loadgen.Op { return fx.BatchOp(c, l.f.batch) }

	refBase, stopRef, err := l.target(true)
	if err != nil {
		return err
	}
	ref, err := search("reference", refBase, l.f.from, l.f.slo, bidOp)
	stopRef()
	if err != nil {
		return err
	}
	bid, err := search("bid", l.f.url, l.f.from, l.f.slo, bidOp)
	if err != nil {
		return err
	}
	// The measurements on the result topics run before the batch search:
	// its fastest steps accept bids faster than the processor decides them,
	// and the backlog they leave would stand in front of everything after.
	var verdict, pipeline, auctions kafkaload.E2E
	var base kafkaload.Baseline
	if l.f.brokers != "" {
		c := loadgen.NewClient(l.f.url, l.f.maxInFlight)
		defer c.Close()
		fx, err := l.prepare(ctx, c, l.f.items)
		if err != nil {
			return err
		}
		stepAt := func(name string, rate float64) loadgen.Config {
			cfg := l.config(name, rate)
			cfg.Duration, cfg.Count = l.f.step, 0
			return cfg
		}
		if rate := 0.2 * bid.Throughput; rate > 0 {
			if _, verdict, err = l.measured(ctx, stepAt("verdict", rate), fx, fx.BidOp(c), "verdict"); err != nil {
				return err
			}
		}
		// Pipeline efficiency: a burst of batches sent faster than the
		// processor decides them, timed from the first accepted bid to the
		// last verdict, is what the whole pipeline decides per second.
		burst := stepAt("pipeline", 4*l.f.batchFrom)
		burst.Duration, burst.Count = 0, pipelineBatches
		if _, pipeline, err = l.measured(ctx, burst, fx, fx.BatchOp(c, l.f.batch), "pipeline"); err != nil {
			return err
		}
		fx, err = l.prepare(ctx, c, 0)
		if err != nil {
			return err
		}
		cfg := l.config("auction", max(1, float64(l.f.auctions)/l.f.step.Seconds()))
		cfg.Duration, cfg.Count = 0, int64(l.f.auctions)
		if _, err := l.runAuctions(ctx, c, fx, cfg); err != nil {
			return err
		}
		auctions = l.rep.E2E["auction"]
		if err := l.runBaseline(ctx); err != nil {
			return err
		}
		base = *l.rep.Baseline
	}
	batch, err := search(fmt.Sprintf("batch×%d", l.f.batch), l.f.url, l.f.batchFrom, l.f.batchSLO, batchOp)
	if err != nil {
		return err
	}

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	missing := func(ok bool, why string) string {
		if ok {
			return ""
		}
		return why
	}
	noKafka := l.f.brokers == ""
	l.rep.Targets = []loadgen.Target{
		{Name: "single-bid sustained rate (p99 ≤ " + l.f.slo.String() + ")", Value: bid.Throughput, Unit: "bids/s",
			Reference: ref.Throughput, RefName: "reference handler", Bound: 0.5,
			Missing: missing(bid.Sent > 0, "no rate held")},
		{Name: "single-bid p99 accept latency", Value: ms(bid.Latency.P99), Unit: "ms", Bound: ms(l.f.slo), AtMost: true,
			Missing: missing(bid.Sent > 0, "no rate held")},
		{Name: fmt.Sprintf("batched (%d per request) vs single bids", l.f.batch), Value: batch.UnitsPerSecond, Unit: "bids/s",
			Reference: bid.Throughput, RefName: "single-bid bids/s", Bound: 10,
			Missing: missing(batch.Sent > 0, "no rate held")},
		{Name: "batched vs raw broker produce", Value: batch.UnitsPerSecond, Unit: "bids/s",
			Reference: base.Produce.PerSecond, RefName: "raw produce records/s", Bound: 0.5,
			Missing: missing(!noKafka && batch.Sent > 0, "needs -brokers")},
		{Name: "bid verdict latency p99 at 20% of sustained", Value: ms(verdict.Verdict.P99), Unit: "ms", Bound: 10, AtMost: true,
			Missing: missing(verdict.Verdict.Count > 0, "needs -brokers")},
		{Name: "item-complete after endsAt+grace p99", Value: ms(auctions.Close.P99), Unit: "ms", Bound: 100, AtMost: true,
			Missing: missing(auctions.Close.Count > 0, "needs -brokers")},
		{Name: "pipeline efficiency (decided/s vs raw produce+consume)", Value: pipeline.DecidedPerSecond, Unit: "bids/s",
			Reference: base.ProduceConsume.PerSecond, RefName: "raw produce+consume records/s", Bound: 0.5,
			Missing: missing(pipeline.Decided > 0, "needs -brokers")},
	}
	for i := range l.rep.Targets {
		l.rep.Targets[i] = l.rep.Targets[i].Judge()
	}
	return nil
}

// write prints the tables and writes the JSON file.
func (l *loadgenRun) write() error {
	w := l.stdout
	if len(l.rep.Runs) > 0 {
		fmt.Fprintln(w)
		if err := loadgen.WriteTable(w, l.rep.Runs...); err != nil {
			return err
		}
	}
	if len(l.rep.E2E) > 0 {
		var names []string
		var sums []loadgen.Summary
		for _, k := range []string{"verdict", "pipeline", "auction", "auction-http"} {
			e, ok := l.rep.E2E[k]
			if !ok {
				continue
			}
			switch k {
			case "verdict", "pipeline":
				names = append(names, fmt.Sprintf("%s: accept → verdict (%d decided, %.0f/s)", k, e.Decided, e.DecidedPerSecond))
				sums = append(sums, e.Verdict)
			case "auction":
				names = append(names, fmt.Sprintf("auction: endsAt+grace → item-complete (%d)", e.Completed),
					"auction: endsAt+grace → close-due")
				sums = append(sums, e.Close, e.CloseDue)
			case "auction-http":
				names = append(names, fmt.Sprintf("auction: endsAt+grace → closed over HTTP (%d)", e.Completed))
				sums = append(sums, e.Close)
			}
		}
		fmt.Fprintln(w)
		if err := loadgen.WriteLatencies(w, names, sums); err != nil {
			return err
		}
	}
	if b := l.rep.Baseline; b != nil {
		fmt.Fprintf(w, "\nraw broker baseline (%d-byte bid records, %d partitions, acks=all, idempotent, fnv1a, lz4):\n", b.RecordBytes, b.Partitions)
		for _, x := range []struct {
			name string
			t    kafkaload.Throughput
		}{{"produce", b.Produce}, {"consume", b.Consume}, {"produce+consume", b.ProduceConsume}} {
			fmt.Fprintf(w, "  %-16s %9.0f records/s  %6.1f MB/s  (%d records in %s)\n", x.name, x.t.PerSecond, x.t.MBPerSecond, x.t.Records, x.t.Elapsed.Round(time.Millisecond))
		}
	}
	if len(l.rep.Targets) > 0 {
		fmt.Fprintln(w)
		if err := loadgen.WriteTargets(w, l.rep.Targets); err != nil {
			return err
		}
	}
	if l.f.jsonOut == "" {
		return nil
	}
	b, err := json.MarshalIndent(l.rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(l.f.jsonOut, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("loadgen: write %s: %w", l.f.jsonOut, err)
	}
	return nil
}

// perSecond formats a rate: whole numbers from 100 up, three digits below.
func perSecond(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

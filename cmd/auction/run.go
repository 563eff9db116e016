package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lovoo/goka/storage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/internal/embedbroker"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// Targets: what one process can run. "all" is every one of them.
const (
	targetGateway   = "gateway"   // HTTP API, edge functions, query views
	targetProcessor = "processor" // the goka auction processor
	targetCloser    = "closer"    // emits close-due when auctions end
	targetNotify    = "notify"    // out of band: notifies winner, losers and seller
	targetAnalytics = "analytics" // out of band: aggregates completed auctions
	targetLineage   = "lineage"   // out of band: indexes every event and every verdict by its auction (lineage, bid history)
)

func targetNames() []string {
	return []string{targetGateway, targetProcessor, targetCloser, targetNotify, targetAnalytics, targetLineage}
}

func knownTarget(t string) bool { return slices.Contains(targetNames(), t) }

// runEnv is the outside world of `auction run`, passed in so tests can run
// the whole platform in-process.
type runEnv struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// listening, if set, receives the gateway's address once it accepts connections.
	listening func(addr string)
	// spans, if set, receives every span the process ends (tests).
	spans sdktrace.SpanExporter
	// started, if set, is told each target that has started (tests).
	started func(target string)
	// returned, if set, is told how many of the components' loops are
	// still running as run returns (tests; always 0).
	returned func(running int64)
}

// run is `auction run`: it reads the settings, sets up logging, tracing and
// the broker (an embedded one when none is configured), and runs a platform
// of the chosen targets until ctx ends or one of them fails.
func run(ctx context.Context, args []string, env runEnv) error {
	var cfg config
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	if _, err := cfg.bind(fs, env.getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	targets, err := cfg.targets()
	if err != nil {
		return err
	}
	log, err := newLogger(env.stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	stopTracing, exporting, err := telemetry.Setup(ctx, telemetry.Settings{
		Service: "auction", Getenv: env.getenv, Exporter: env.spans, Sync: env.spans != nil,
	})
	if err != nil {
		return err
	}
	defer func() {
		// Spans still batched are sent before the process goes.
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := stopTracing(flush); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()
	log.Debug("tracing", "exporting", exporting)

	brokers := cfg.brokers()
	if cfg.embedded() {
		b, err := embedbroker.Start(cfg.EmbeddedKafkaPort)
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = b.Addrs()
		log.Info("embedded Kafka broker started (in memory: it forgets everything on exit)", "addr", strings.Join(brokers, ","))
	}
	kcfg, err := cfg.kafkaConfig(brokers, "auction")
	if err != nil {
		return err
	}
	p := &platform{cfg: cfg, env: env, log: log, kcfg: kcfg, m: metrics.New()}
	err = p.run(ctx, targets)
	log.Info("stopped")
	return err
}

// ensureTopics creates the catalog's topics, waiting for the cluster as long
// as it takes: a process started while its broker is down waits (and says
// so on /readyz) instead of exiting. A topic that exists with the wrong
// partition count is no outage, and ends the wait with an error.
func ensureTopics(ctx context.Context, kcfg kafkaio.Config, log *slog.Logger) error {
	for attempt := 1; ; attempt++ {
		err := kafkaio.EnsureTopics(ctx, kcfg)
		if err == nil || errors.Is(err, kafkaio.ErrPartitionCount) {
			return err
		}
		wait := kafkaio.Reconnect(attempt)
		log.Warn("kafka not answering; trying again", "err", err, "in", wait.String(), "attempt", attempt)
		if !kafkaio.Pause(ctx, wait) {
			return ctx.Err()
		}
	}
}

// processorStorage is where the processor keeps its local table copies. The
// embedded broker forgets everything on restart, and goka refuses a local
// table that is ahead of its topic, so embedded mode starts from nothing
// every time; with a real cluster AUCTION_STATE_DIR keeps the copies in
// LevelDB across restarts (recovery then reads only what is new).
func processorStorage(cfg config, scratch string) storage.Builder {
	if !cfg.embedded() && cfg.StateDir != "" {
		return storage.DefaultBuilder(filepath.Join(cfg.StateDir, "goka"))
	}
	return auction.ScratchStorage(filepath.Join(scratch, "processor"))
}

func withClient(c kafkaio.Config, id string) kafkaio.Config {
	c.ClientID = id
	return c
}

// itemsOf lets the validate-bid function look items up in the processor's view.
func itemsOf(view *auction.View) placebid.Items {
	return placebid.ItemsFunc(func(_ context.Context, id string) (placebid.Item, bool, error) {
		s, err := view.Get(id)
		if err != nil || s == nil || s.Item == nil {
			return placebid.Item{}, false, err
		}
		// With a soft close, a bid after the end this view has seen may
		// still be in time: the processor may have moved the end since.
		// Such bids go to the processor, which refuses them too_late if
		// they are not.
		endsAt := s.End()
		if s.Item.SoftClose != nil {
			endsAt = schemas.LatestEnd(s.Item.SoftClose, s.Item.EndsAt)
		}
		return placebid.Item{
			SellerID: s.Item.Seller.ID, Currency: s.Item.StartingPrice.Currency,
			EndsAt: endsAt, Closed: s.Status == auction.StatusClosed,
		}, true, nil
	})
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	// Records logged with a context name its trace and span.
	switch format {
	case "text":
		return slog.New(telemetry.LogHandler(slog.NewTextHandler(w, opts))), nil
	case "json":
		return slog.New(telemetry.LogHandler(slog.NewJSONHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

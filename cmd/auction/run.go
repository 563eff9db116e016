package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/sync/errgroup"

	"github.com/auctionflow/auction/functions/closer"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/embedbroker"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
	"github.com/auctionflow/auction/services/live"
	"github.com/auctionflow/auction/services/web"
	"github.com/auctionflow/auction/streams/auction"
)

// Targets: what one process can run. "all" is every one of them.
const (
	targetGateway   = "gateway"   // HTTP API, edge functions, query views
	targetProcessor = "processor" // the goka auction processor
	targetCloser    = "closer"    // emits close-due when auctions end
	targetNotify    = "notify"    // out of band: notifies winner, losers and seller
	targetAnalytics = "analytics" // out of band: aggregates completed auctions
	targetLineage   = "lineage"   // out of band: indexes every event by its auction
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
}

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
	// Whatever fails from here on, what was started stops with run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	var ready readiness
	m := metrics.New()
	// The admin port answers from the start, so a process waiting for its
	// broker says so on /readyz instead of refusing connections.
	// Until every component has registered what it waits for, the process
	// is not ready.
	started := ready.wait("start")
	if cfg.AdminAddr != "" {
		probe, err := kafkaio.NewProducer(withClient(kcfg, "auction-probe"), log)
		if err != nil {
			return err
		}
		defer probe.Close()
		ready.probe("kafka", probe.Ping)
		if err := serve(ctx, g, cfg.AdminAddr, adminHandler(&ready, m), log.With("server", "admin")); err != nil {
			return err
		}
	}
	if err := ensureTopics(ctx, kcfg, log); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the broker
		}
		return err
	}

	// Local copies of goka tables live on disk (LevelDB): the processor's in
	// AUCTION_STATE_DIR when it is kept across restarts, views' always in a
	// scratch folder, since they are rebuilt from their topics at start.
	scratch, err := os.MkdirTemp("", "auction-state-*")
	if err != nil {
		return fmt.Errorf("scratch folder for goka state: %w", err)
	}
	defer os.RemoveAll(scratch)

	st, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}

	if targets[targetProcessor] {
		p, err := auction.New(auction.Config{
			Kafka: kcfg, Flush: cfg.GokaFlush, Storage: processorStorage(cfg, scratch), Log: log, Observe: m,
		})
		if err != nil {
			return err
		}
		observeProcessor(m, p)
		processorReady := ready.wait("processor")
		g.Go(func() error {
			return p.Supervise(ctx,
				func() { processorReady(); log.Info("auction processor ready") },
				func(error) { ready.unready("processor") })
		})
	}
	if targets[targetCloser] {
		c, err := closer.New(closer.Config{Kafka: withClient(kcfg, "auction-closer"), Grace: cfg.CloseGrace, Log: log})
		if err != nil {
			return err
		}
		ready.whenClosed(ctx, "closer", c.Ready())
		g.Go(func() error { return c.Run(ctx) })
	}
	if targets[targetNotify] {
		if err := startNotify(ctx, g, cfg, kcfg, log, st, &ready, m); err != nil {
			return err
		}
	}
	if targets[targetAnalytics] {
		if err := startAnalytics(ctx, g, kcfg, log, st, &ready, m); err != nil {
			return err
		}
	}
	if targets[targetLineage] {
		if err := startLineage(ctx, g, kcfg, log, st, &ready, m); err != nil {
			return err
		}
	}
	if targets[targetGateway] {
		if err := startGateway(ctx, g, cfg, kcfg, log, env, scratch, st, m); err != nil {
			return err
		}
	}
	started()
	err = g.Wait()
	if errors.Is(err, context.Canceled) || errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
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
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
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

func startGateway(ctx context.Context, g *errgroup.Group, cfg config, kcfg kafkaio.Config, log *slog.Logger, env runEnv, scratch string, st stores, m *metrics.Metrics) error {
	key := []byte(cfg.JWTKey)
	if cfg.JWTKey == "" {
		key = auth.GenerateKey()
	}
	tokens, err := auth.NewTokens(auth.Config{Key: key, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TTL: cfg.TokenTTL}, nil)
	if err != nil {
		return err
	}
	dir := st.users
	profiles := userdir.NewCached(dir, cfg.UserCacheTTL, nil)
	var demo []demoUser
	if cfg.DemoUsers {
		if demo, err = seedDemoUsers(ctx, dir, tokens); err != nil {
			return err
		}
	}

	kcfg.ClientID = "auction-gateway"
	producer, err := kafkaio.NewProducer(kcfg, log)
	if err != nil {
		return err
	}
	// The view of the auctions is a row per item, rewritten on every bid: in
	// memory, NewView's default. The view of the bids is a record per bid:
	// on disk.
	view, err := auction.NewView(kcfg, log)
	if err != nil {
		producer.Close()
		return err
	}
	g.Go(func() error { return view.Run(ctx) })
	bids, err := auction.NewBidView(kcfg, log, goka.WithViewStorageBuilder(storage.DefaultBuilder(filepath.Join(scratch, "view-bids"))))
	if err != nil {
		producer.Close()
		return err
	}
	g.Go(func() error { return bids.Run(ctx) })
	hub := live.New(kcfg, log)
	g.Go(func() error { return hub.Run(ctx) })

	placeItem := faas.New(placeitem.Init(placeitem.Deps{Users: profiles, Publisher: producer}),
		faas.Options{Name: "placeitem", Timeout: cfg.DeliveryTimeout + time.Second, Observe: m})
	bidDeps := placebid.Deps{Users: profiles, Items: itemsOf(view), Publisher: producer}
	placeBid := faas.New(placebid.Init(bidDeps),
		faas.Options{Name: "placebid", Timeout: cfg.DeliveryTimeout + time.Second, Observe: m})
	placeBids := faas.New(placebid.InitBatch(bidDeps),
		faas.Options{Name: "placebid-batch", Concurrency: 8, Timeout: cfg.DeliveryTimeout + time.Second, Observe: m})
	gw := gateway.New(gateway.Deps{
		Web:    web.Handler(),
		Tokens: tokens, Users: dir, PlaceItem: placeItem, PlaceBid: placeBid, PlaceBids: placeBids,
		Inbox: st.outbox, Analytics: st.analytics, Lineage: st.lineage,
		Auctions: view, Bids: bids, Live: hub, Metrics: m, Log: log, RateLimit: gateway.RateLimit{Rate: cfg.RateLimit, Burst: cfg.RateBurst},
		Ready: []gateway.Check{
			{Name: "kafka", Check: producer.Ping},
			{Name: "users", Check: func(ctx context.Context) error {
				// A lookup of nobody proves the store answers.
				if _, err := dir.Get(ctx, "readiness-probe"); err != nil && !errors.Is(err, userdir.ErrNotFound) {
					return err
				}
				return nil
			}},
			{Name: "live", Check: func(context.Context) error {
				select {
				case <-hub.Ready():
					return nil
				default:
					return errors.New("not yet following the result topics")
				}
			}},
			{Name: "auction-view", Check: func(context.Context) error {
				if !view.Recovered() || !bids.Recovered() {
					return errors.New("still recovering the auction and bid tables")
				}
				return nil
			}},
		},
	})

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		producer.Close()
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	// /metrics sits beside the API, not in it: it is for Prometheus, not
	// for API clients, and stays out of the OpenAPI document.
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", gw.Routes())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error { return srv.Serve(ln) })
	g.Go(func() error {
		<-ctx.Done()
		// Stop taking requests, let those in flight finish, then flush
		// whatever they produced.
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdown)
		producer.Close()
		return err
	})

	addr := ln.Addr().String()
	log.Info("gateway listening", "addr", addr)
	if len(demo) > 0 {
		printDemoUsers(env.stdout, addr, demo)
	}
	if env.listening != nil {
		env.listening(addr)
	}
	return nil
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
		return placebid.Item{
			SellerID: s.Item.Seller.ID, Currency: s.Item.StartingPrice.Currency,
			EndsAt: s.Item.EndsAt, Closed: s.Status == auction.StatusClosed,
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

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/auctionflow/auction/functions/closer"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/streams/auction"
)

// platform is what one process of the platform runs: the components its
// targets name, on the clients and stores they share, in one errgroup. Each
// target has a start method that builds its component and hands its loops
// to the group; run starts them all, then waits for them.
type platform struct {
	cfg  config
	env  runEnv
	log  *slog.Logger
	kcfg kafkaio.Config
	m    *metrics.Metrics

	// Set by run, for the start methods.
	ctx     context.Context
	g       *group
	ready   readiness
	st      stores
	scratch string
	// stops run once every component has returned, in reverse order.
	stops []func()
}

// run starts every component of targets and waits until they have all
// returned: when ctx ends, when one of them fails, or when one of them
// cannot start. Whichever comes first cancels the others, and run returns
// only once they are done, so nothing runs on under a broker, a store or a
// scratch folder that its caller closes next.
func (p *platform) run(ctx context.Context, targets map[string]bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.g = &group{}
	p.g.Group, p.ctx = errgroup.WithContext(ctx)
	defer func() {
		for i := len(p.stops) - 1; i >= 0; i-- {
			p.stops[i]()
		}
		if p.env.returned != nil {
			p.env.returned(p.g.running.Load())
		}
	}()
	err := p.start(targets)
	if err != nil {
		cancel()
	}
	if werr := p.g.Wait(); err == nil {
		err = werr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// group is the errgroup of a process's components, counting the loops
// still running.
type group struct {
	*errgroup.Group
	running atomic.Int64
}

// Go runs f in the group.
func (g *group) Go(f func() error) {
	g.running.Add(1)
	g.Group.Go(func() error {
		defer g.running.Add(-1)
		return f()
	})
}

// onStop registers f to run after every component has returned.
func (p *platform) onStop(f func()) { p.stops = append(p.stops, f) }

// start starts what every process needs (the admin port, the topics, the
// stores) and then the targets, in flow order.
func (p *platform) start(targets map[string]bool) error {
	// The admin port answers from the start, so a process waiting for its
	// broker says so on /readyz instead of refusing connections.
	// Until every component has registered what it waits for, the process
	// is not ready.
	started := p.ready.wait("start")
	if p.cfg.AdminAddr != "" {
		probe, err := kafkaio.NewProducer(withClient(p.kcfg, "auction-probe"), p.log)
		if err != nil {
			return err
		}
		p.onStop(probe.Close)
		p.ready.probe("kafka", probe.Ping)
		if err := serve(p.ctx, p.g, p.cfg.AdminAddr, adminHandler(&p.ready, p.m), p.log.With("server", "admin")); err != nil {
			return err
		}
	}
	if err := ensureTopics(p.ctx, p.kcfg, p.log); err != nil {
		if p.ctx.Err() != nil {
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
	p.scratch = scratch
	p.onStop(func() { os.RemoveAll(scratch) })

	if p.st, err = openStores(p.ctx, p.cfg); err != nil {
		return err
	}
	for _, t := range []struct {
		name  string
		start func() error
	}{
		{targetProcessor, p.startProcessor},
		{targetCloser, p.startCloser},
		{targetNotify, p.startNotify},
		{targetAnalytics, p.startAnalytics},
		{targetLineage, p.startLineage},
		{targetGateway, p.startGateway},
	} {
		if !targets[t.name] {
			continue
		}
		if err := t.start(); err != nil {
			return fmt.Errorf("start %s: %w", t.name, err)
		}
		if p.env.started != nil {
			p.env.started(t.name)
		}
	}
	started()
	return nil
}

// startProcessor runs the goka auction processor, supervised: a processor
// that fails is rebuilt, and the process is unready meanwhile.
func (p *platform) startProcessor() error {
	proc, err := auction.New(auction.Config{
		Kafka: p.kcfg, Flush: p.cfg.GokaFlush, Storage: processorStorage(p.cfg, p.scratch), Log: p.log, Observe: p.m,
	})
	if err != nil {
		return err
	}
	observeProcessor(p.m, proc)
	processorReady := p.ready.wait("processor")
	p.g.Go(func() error {
		return proc.Supervise(p.ctx,
			func() { processorReady(); p.log.Info("auction processor ready") },
			func(error) { p.ready.unready("processor") })
	})
	return nil
}

// startCloser runs the closer: close-dues at endsAt + grace.
func (p *platform) startCloser() error {
	c, err := closer.New(closer.Config{Kafka: withClient(p.kcfg, "auction-closer"), Grace: p.cfg.CloseGrace, Log: p.log})
	if err != nil {
		return err
	}
	p.ready.whenClosed(p.ctx, "closer", c.Ready())
	p.g.Go(func() error { return c.Run(p.ctx) })
	return nil
}

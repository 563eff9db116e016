package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/metrics"
)

// initialise creates what the platform needs before it runs: the catalog's
// topics and, with AUCTION_STORE=dynamodb, the tables. Every component does
// this at start too; a separate step lets a deployment give only the init
// job the rights to create them.
func initialise(ctx context.Context, args []string, env runEnv) error {
	var cfg config
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	if _, err := cfg.bind(fs, env.getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.embedded() {
		return fmt.Errorf("init needs AUCTION_KAFKA_BROKERS: the embedded broker lives only inside auction run")
	}
	kcfg, err := cfg.kafkaConfig(cfg.brokers(), "auction-init")
	if err != nil {
		return err
	}
	if err := kafkaio.EnsureTopics(ctx, kcfg); err != nil {
		return err
	}
	if _, err := openStores(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "topics and tables are ready")
	return nil
}

// healthcheck exits 0 when url answers 200: distroless images have no curl.
func healthcheck(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

// readiness tracks which components of this process are ready.
type readiness struct {
	mu      sync.Mutex
	pending map[string]bool
	checks  []namedCheck
}

// wait registers a component and returns the func that marks it ready.
func (r *readiness) wait(name string) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
	r.pending[name] = true
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.pending, name)
	}
}

// unready marks a registered component as waiting again (a processor that
// lost its broker and is starting over).
func (r *readiness) unready(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
	r.pending[name] = true
}

// probe adds a check run on every /readyz: the process is not ready while
// it fails (the cluster does not answer), whatever its components say.
func (r *readiness) probe(name string, check func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, namedCheck{name, check})
}

type namedCheck struct {
	name  string
	check func(context.Context) error
}

// whenClosed marks name ready once ch is closed.
func (r *readiness) whenClosed(ctx context.Context, name string, ch <-chan struct{}) {
	ready := r.wait(name)
	go func() {
		select {
		case <-ch:
			ready()
		case <-ctx.Done():
		}
	}()
}

// notReady lists what is not ready: components still waiting, and probes
// that fail (each given a second at most).
func (r *readiness) notReady(ctx context.Context) []string {
	r.mu.Lock()
	out := make([]string, 0, len(r.pending))
	for n := range r.pending {
		out = append(out, n)
	}
	checks := slices.Clone(r.checks)
	r.mu.Unlock()
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := c.check(cctx); err != nil {
			out = append(out, c.name+": "+err.Error())
		}
		cancel()
	}
	sort.Strings(out)
	return out
}

// adminHandler serves /healthz (the process runs), /readyz (every
// component in it has joined its group and caught up) and /metrics.
func adminHandler(r *readiness, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		waiting := r.notReady(req.Context())
		if len(waiting) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "starting", "waiting": waiting})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	// Go's profiler, on the admin port only (never on the API's):
	// go tool pprof http://ADMIN/debug/pprof/profile?seconds=20
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// serve runs an HTTP server on addr until ctx ends, then shuts it down.
func serve(ctx context.Context, g interface{ Go(func() error) }, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	})
	log.Info("listening", "addr", ln.Addr().String())
	return nil
}

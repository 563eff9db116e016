// Package serve runs an out-of-band function as a CloudEvents HTTP sink,
// as Knative Serving and Cloud Run run a container: it listens on $PORT,
// takes each event a broker POSTs (functions/cehttp), sends what the
// function returns to $K_SINK (set by Knative's SinkBinding or
// SinkBinding-like wiring) or, without one, writes it to Kafka
// (AUCTION_KAFKA_BROKERS), and stops on SIGTERM once the requests in
// flight are answered.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/functions/cehttp"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// Main serves the function build makes until SIGTERM or SIGINT.
func Main(function string, build outofband.Build) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	h, closeFn, err := Handler(ctx, function, os.Getenv, build, log)
	if err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
	defer closeFn()
	addr := ":" + outofband.Or(os.Getenv, "PORT", "8080")
	if err := Serve(ctx, addr, h, log); err != nil {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

// Handler sets the function up and returns its HTTP handler: events are
// POSTed to /, and GET /healthz answers once it is set up. closeFn closes
// its clients.
func Handler(ctx context.Context, function string, env outofband.Env, build outofband.Build, log *slog.Logger) (h http.Handler, closeFn func(), err error) {
	client, err := outofband.Dynamo(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if _, err := schemas.SharedValidator(); err != nil {
		return nil, nil, err
	}
	out, closeFn, err := writer(env, function, log)
	if err != nil {
		return nil, nil, err
	}
	fn, err := build(env, client, out, log)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", cehttp.Handler(fn, log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux, closeFn, nil
}

// writer is where the function's outputs go: K_SINK, or Kafka.
func writer(env outofband.Env, function string, log *slog.Logger) (trigger.Writer, func(), error) {
	if sink := env("K_SINK"); sink != "" {
		s, err := cehttp.NewSink(sink)
		return s, func() {}, err
	}
	if env("AUCTION_KAFKA_BROKERS") == "" {
		return nil, nil, errors.New("neither K_SINK nor AUCTION_KAFKA_BROKERS is set: the function's outputs have nowhere to go")
	}
	cfg, err := outofband.Kafka(env, "auction-"+function+"-cloudevents")
	if err != nil {
		return nil, nil, err
	}
	p, err := kafkaio.NewProducer(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return p, p.Close, nil
}

// Serve serves h on addr until ctx ends, then answers the requests in
// flight (up to 30 s) and returns.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("serving CloudEvents", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

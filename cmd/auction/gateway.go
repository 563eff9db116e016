package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
	"github.com/auctionflow/auction/services/live"
	"github.com/auctionflow/auction/services/web"
	"github.com/auctionflow/auction/streams/auction"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
)

// startGateway runs the HTTP API: the edge functions, the query views and
// live verdicts.
func (p *platform) startGateway() error {
	ctx, g, cfg, kcfg, log, env, scratch, st, m := p.ctx, p.g, p.cfg, p.kcfg, p.log, p.env, p.scratch, p.st, p.m
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
		Tokens: tokens, Users: dir, Profiles: profiles, PlaceItem: placeItem, PlaceBid: placeBid, PlaceBids: placeBids,
		Inbox: st.outbox, Analytics: st.analytics, Lineage: st.lineage, BidHistory: st.bids, Idempotency: st.idem,
		Auctions: view, Bids: bids, Live: hub, Metrics: m, Log: log, RateLimit: gateway.RateLimit{Rate: cfg.RateLimit, Burst: cfg.RateBurst},
		CORSOrigins: splitList(cfg.CORSOrigins),
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

// Package auctiontest runs the auction processor's graph on goka's tester.
package auctiontest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/streams/auction"
)

// Run runs p's graph on tt, with its view of auction.bid-status on tt
// too, until t ends; then it stops the processor, and the view after it.
func Run(t testing.TB, tt *tester.Tester, p *auction.Processor) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	statuses, err := auction.NewBidView(kafkaio.Config{}, quiet, goka.WithViewTester(tt))
	if err != nil {
		t.Fatalf("new bid status view: %v", err)
	}
	// p.Options() would wire real sarama clients; the tester replaces all of them.
	gp, err := goka.NewProcessor(nil, p.Graph(statuses), goka.WithTester(tt), goka.WithLogger(kafkaio.GokaLogger(quiet)))
	if err != nil {
		t.Fatalf("new goka processor: %v", err)
	}
	viewCtx, stopView := context.WithCancel(context.Background())
	viewDone := make(chan error, 1)
	go func() { viewDone <- statuses.Run(viewCtx) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor stopped with %v, want nil", err)
		}
		stopView()
		if err := <-viewDone; err != nil {
			t.Errorf("bid status view stopped with %v, want nil", err)
		}
	})
}

package main

import (
	"context"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/idempotency"
	"github.com/auctionflow/auction/internal/userdir"
)

// stores are the tables at rest: users, the notification outbox and
// inboxes, analytics, lineage, bid history and the gateways' record of
// Idempotency-Keys. In memory they live and die with the process (and
// are shared only by the components in it); on DynamoDB every process of the
// platform sees the same ones.
type stores struct {
	users     userdir.Directory
	outbox    notify.Outbox
	analytics analytics.Store
	lineage   lineage.Store
	bids      bidhistory.Store
	idem      idempotency.Store
}

func openStores(ctx context.Context, cfg config) (stores, error) {
	if cfg.Store == "memory" {
		return stores{users: userdir.NewMemory(), outbox: notify.NewMemory(), analytics: analytics.NewMemory(), lineage: lineage.NewMemory(), bids: bidhistory.NewMemory(),
			idem: idempotency.NewMemory(idempotency.DefaultLimits, nil)}, nil
	}
	client, err := dynamotable.NewClient(ctx, cfg.DynamoEndpoint, cfg.DynamoRegion)
	if err != nil {
		return stores{}, err
	}
	if err := userdir.EnsureTable(ctx, client, cfg.UsersTable); err != nil {
		return stores{}, err
	}
	if err := notify.EnsureTable(ctx, client, cfg.NotificationsTable); err != nil {
		return stores{}, err
	}
	if err := analytics.EnsureTable(ctx, client, cfg.AnalyticsTable); err != nil {
		return stores{}, err
	}
	if err := lineage.EnsureTable(ctx, client, cfg.LineageTable); err != nil {
		return stores{}, err
	}
	if err := bidhistory.EnsureTable(ctx, client, cfg.BidHistoryTable); err != nil {
		return stores{}, err
	}
	if err := idempotency.EnsureTable(ctx, client, cfg.IdempotencyTable); err != nil {
		return stores{}, err
	}
	return stores{
		bids:      bidhistory.NewDynamo(client, cfg.BidHistoryTable),
		idem:      idempotency.NewDynamo(client, cfg.IdempotencyTable, idempotency.DefaultLimits, nil),
		users:     userdir.NewDynamo(client, cfg.UsersTable),
		outbox:    notify.NewDynamo(client, cfg.NotificationsTable),
		analytics: analytics.NewDynamo(client, cfg.AnalyticsTable),
		lineage:   lineage.NewDynamo(client, cfg.LineageTable),
	}, nil
}

package main

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/metrics"
	"github.com/auctionflow/auction/schemas"
)

// The out-of-band functions react to auction.item-complete through the
// Kafka trigger, each in its own consumer group, so each sees every event.

// startNotify runs notify-bidders: one notification per (item, user, kind),
// by email and in the inbox, each announced on auction.notifications.
func startNotify(ctx context.Context, g *errgroup.Group, cfg config, kcfg kafkaio.Config, log *slog.Logger, st stores, ready *readiness, m *metrics.Metrics) error {
	log = log.With("function", "notify")
	producer, err := kafkaio.NewProducer(withClient(kcfg, "auction-notify"), log)
	if err != nil {
		return err
	}
	n := notify.New(notify.Deps{Outbox: st.outbox, Mailer: mailer(cfg, log), Users: st.users, Log: log})
	h := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, producer, n.OnCompleted)
	return startTrigger(ctx, g, kcfg, "auction-notify", "notify", []string{schemas.TopicItemComplete}, h, producer, log, ready, m)
}

// startAnalytics runs the analytics function: aggregates that count each
// completed auction once, however often it is delivered.
func startAnalytics(ctx context.Context, g *errgroup.Group, kcfg kafkaio.Config, log *slog.Logger, st stores, ready *readiness, m *metrics.Metrics) error {
	log = log.With("function", "analytics")
	producer, err := kafkaio.NewProducer(withClient(kcfg, "auction-analytics"), log)
	if err != nil {
		return err
	}
	a := analytics.New(analytics.Deps{Store: st.analytics, Log: log})
	h := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, producer, a.OnCompleted)
	return startTrigger(ctx, g, kcfg, "auction-analytics", "analytics", []string{schemas.TopicItemComplete}, h, producer, log, ready, m)
}

// startLineage runs the lineage function: every event of the flow, indexed
// by its item with its origin, cause and trace (GET /v1/items/{id}/lineage).
func startLineage(ctx context.Context, g *errgroup.Group, kcfg kafkaio.Config, log *slog.Logger, st stores, ready *readiness, m *metrics.Metrics) error {
	log = log.With("function", "lineage")
	producer, err := kafkaio.NewProducer(withClient(kcfg, "auction-lineage"), log)
	if err != nil {
		return err
	}
	return startTrigger(ctx, g, kcfg, "auction-lineage", "lineage", lineage.Topics(),
		lineage.Handler(st.lineage, log), producer, log, ready, m)
}

// startTrigger binds h to topics in group and closes the producer (dead
// letters, outputs) once the trigger has stopped.
func startTrigger(ctx context.Context, g *errgroup.Group, kcfg kafkaio.Config, group, name string, topics []string, h trigger.Handler, producer *kafkaio.Producer, log *slog.Logger, ready *readiness, m *metrics.Metrics) error {
	t, err := trigger.New(trigger.Config{
		Kafka: withClient(kcfg, group), Group: group, Topics: topics,
		Name: name, Log: log, DeadLetter: producer,
	}, h)
	if err != nil {
		producer.Close()
		return fmt.Errorf("%s trigger: %w", name, err)
	}
	observeTrigger(m, name, group, t)
	ready.whenClosed(ctx, name, t.Ready())
	g.Go(func() error {
		defer producer.Close()
		return t.Run(ctx)
	})
	return nil
}

// mailer sends notification emails over SMTP, or only logs them when no
// server is configured (the inbox still gets every notification).
func mailer(cfg config, log *slog.Logger) notify.Mailer {
	if cfg.SMTPAddr == "" {
		return logMailer{log}
	}
	return &notify.SMTPMailer{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUser, Password: cfg.SMTPPassword}
}

type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(ctx context.Context, to, subject, _, messageID string) error {
	m.log.InfoContext(ctx, "email not sent (no AUCTION_SMTP_ADDR)", "to", to, "subject", subject, "message_id", messageID)
	return nil
}

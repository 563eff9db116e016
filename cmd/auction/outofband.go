package main

import (
	"fmt"
	"log/slog"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// The out-of-band functions react to auction.item-complete through the
// Kafka trigger, each in its own consumer group, so each sees every event.

// startNotify runs notify-bidders: one notification per (item, user, kind),
// by email and in the inbox, each announced on auction.notifications; and
// the outbid notices, at most one per (item, user) in each window.
func (p *platform) startNotify() error {
	log := p.log.With("function", "notify")
	producer, err := kafkaio.NewProducer(withClient(p.kcfg, "auction-notify"), log)
	if err != nil {
		return err
	}
	n := notify.New(notify.Deps{Outbox: p.st.outbox, Mailer: mailer(p.cfg, log), Users: p.st.users, Log: log})
	h := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, producer, n.OnCompleted)
	if err := p.startTrigger("auction-notify", "notify", []string{schemas.TopicItemComplete}, h, producer, log); err != nil {
		return err
	}
	// Outbid notices read every verdict, so they have a group of their
	// own: a backlog of verdicts never delays the notices of a close.
	log = p.log.With("function", "notify-outbid")
	if producer, err = kafkaio.NewProducer(withClient(p.kcfg, "auction-notify-outbid"), log); err != nil {
		return err
	}
	n = notify.New(notify.Deps{Outbox: p.st.outbox, Mailer: mailer(p.cfg, log), Users: p.st.users, Log: log,
		OutbidWindow: p.cfg.OutbidWindow})
	h = trigger.Function(schemas.TopicBidResults, schemas.TypeBidAccepted, producer, n.OnAccepted)
	return p.startTrigger("auction-notify-outbid", "notify-outbid", []string{schemas.TopicBidResults}, h, producer, log)
}

// startAnalytics runs the analytics function: aggregates that count each
// completed auction once, however often it is delivered.
func (p *platform) startAnalytics() error {
	log := p.log.With("function", "analytics")
	producer, err := kafkaio.NewProducer(withClient(p.kcfg, "auction-analytics"), log)
	if err != nil {
		return err
	}
	a := analytics.New(analytics.Deps{Store: p.st.analytics, Log: log})
	h := trigger.Function(schemas.TopicItemComplete, schemas.TypeItemCompleted, producer, a.OnCompleted)
	return p.startTrigger("auction-analytics", "analytics", []string{schemas.TopicItemComplete}, h, producer, log)
}

// startLineage runs the functions that index the flow by item: lineage,
// every event with its origin, cause and trace (GET /v1/items/{id}/lineage),
// and the bid history, every verdict (GET /v1/items/{id}/bids). Each is a
// read model of its own, in a consumer group of its own.
func (p *platform) startLineage() error {
	log := p.log.With("function", "lineage")
	producer, err := kafkaio.NewProducer(withClient(p.kcfg, "auction-lineage"), log)
	if err != nil {
		return err
	}
	if err := p.startTrigger("auction-lineage", "lineage", lineage.Topics(),
		lineage.Handler(p.st.lineage, log), producer, log); err != nil {
		return err
	}
	log = p.log.With("function", "bidhistory")
	if producer, err = kafkaio.NewProducer(withClient(p.kcfg, "auction-bid-history"), log); err != nil {
		return err
	}
	return p.startTrigger("auction-bid-history", "bidhistory", bidhistory.Topics(),
		bidhistory.Handler(p.st.bids), producer, log)
}

// startTrigger binds h to topics in group and closes the producer (dead
// letters, outputs) once the trigger has stopped.
func (p *platform) startTrigger(group, name string, topics []string, h trigger.Handler, producer *kafkaio.Producer, log *slog.Logger) error {
	t, err := trigger.New(trigger.Config{
		Kafka: withClient(p.kcfg, group), Group: group, Topics: topics,
		Name: name, Log: log, DeadLetter: producer,
	}, h)
	if err != nil {
		producer.Close()
		return fmt.Errorf("%s trigger: %w", name, err)
	}
	observeTrigger(p.m, name, group, t)
	p.ready.whenClosed(p.ctx, name, t.Ready())
	p.g.Go(func() error {
		defer producer.Close()
		return t.Run(p.ctx)
	})
	return nil
}

// mailer sends notification emails over SMTP, or only logs them when no
// server is configured (the inbox still gets every notification).
func mailer(cfg config, log *slog.Logger) notify.Mailer {
	return notify.MailerFor(notify.SMTPMailer{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUser, Password: cfg.SMTPPassword}, log)
}

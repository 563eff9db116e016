package auction

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Group is the processor group; its table topic is schemas.TopicAuctionTable.
const Group goka.Group = schemas.GroupAuction

// source is the CloudEvents source of what the processor emits.
const source = schemas.Source + "/streams/auction"

// Config wires a processor instance.
type Config struct {
	Kafka kafkaio.Config
	// Flush is the producer's flush interval (see kafkaio.Config.GokaConfig).
	Flush time.Duration
	// Storage keeps the local copies of the tables (nil: all in memory,
	// kafkaio.MemoryStorage): ScratchStorage for a run that recovers them
	// from their topics at every start, LevelDB in a folder of its own per
	// instance to keep them across restarts.
	Storage storage.Builder
	Log     *slog.Logger
	// Now is the processor's clock; tests pass a fixed one.
	Now func() time.Time
	// Observe, if set, is told what the processor decides.
	Observe Observer
}

// Observer is told what the processor decides: every verdict, every auction
// that opens or closes, every record it dead-letters. It is declared here,
// by its user, so the processor depends on what it reports and not on a
// metrics library; internal/metrics.Metrics is the implementation that
// cmd/auction wires in. Calls come from the processor's partition
// goroutines, so an implementation must be safe for concurrent use and
// quick.
type Observer interface {
	// Decision is one verdict; reason is empty for an accepted bid.
	Decision(accepted bool, reason string)
	AuctionOpened()
	// AuctionClosed is one completion: outcome is "sold" or "unsold".
	AuctionClosed(outcome string)
	// DeadLetter is a record moved to the dead-letter topic by consumer.
	DeadLetter(consumer string)
}

// unobserved is the Observer of a processor nobody measures.
type unobserved struct{}

func (unobserved) Decision(bool, string) {}
func (unobserved) AuctionOpened()        {}
func (unobserved) AuctionClosed(string)  {}
func (unobserved) DeadLetter(string)     {}

// Graph is the processor's goka group graph. Its inputs are auction.items
// and auction.bids, which carries the closer's close-dues too. goka reads
// its input topics independently, with no order between them: a close-due
// on a topic of its own could be processed before bids written long before
// it (after a broker restart, with one topic's fetches further behind). In
// the partition of the item's bids it is processed after each of them.
//
// Inputs are read as raw bytes:
// a record goka cannot decode would stop the processor, so decoding happens
// in the callback, where a bad record can be dead-lettered instead.
//
// auction.bid-status, which the processor writes, is read back through
// statuses: a bid whose verdict has left its auction's row (State.Recent)
// is looked up there by bid id, so a late duplicate is still decided once.
// Run recovers it before processing, so after a restart every status
// written before it is there. It is a view the processor runs itself
// rather than a goka lookup table: goka stops its lookup tables at the
// same time as its partition processors, and a callback still running
// would read a table being closed.
func (p *Processor) Graph(statuses Statuses) *goka.GroupGraph {
	raw := new(codec.Bytes)
	process := func(ctx goka.Context, msg any) { p.process(ctx, msg, statuses) }
	return goka.DefineGroup(Group,
		goka.Input(goka.Stream(schemas.TopicItems), raw, process),
		goka.Input(goka.Stream(schemas.TopicBids), raw, process),
		goka.Persist(stateCodec{}),
		goka.Output(goka.Stream(schemas.TopicBidResults), raw),
		// Soft close extensions, for the closer; read back as an input,
		// they change nothing.
		goka.Output(goka.Stream(schemas.TopicItems), raw),
		goka.Output(goka.Stream(schemas.TopicItemComplete), raw),
		goka.Output(goka.Stream(schemas.TopicDeadLetter), raw),
		goka.Output(goka.Stream(schemas.TopicBidStatus), bidStatusCodec{}),
	)
}

// Statuses finds the status of a bid on auction.bid-status: a BidView.
type Statuses interface {
	Bid(bidID string) (*schemas.BidStatus, error)
}

// Processor runs the auction group.
type Processor struct {
	cfg   Config
	watch watch // for Lags
}

// New builds a processor; Run starts it.
func New(cfg Config) (*Processor, error) {
	// Compiled once per process, shared by every reader of its events.
	if _, err := schemas.SharedValidator(); err != nil {
		return nil, fmt.Errorf("auction processor: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Observe == nil {
		cfg.Observe = unobserved{}
	}
	if cfg.Storage == nil {
		cfg.Storage = kafkaio.MemoryStorage()
	}
	return &Processor{cfg: cfg}, nil
}

// Options are the goka options of a processor on a real or embedded broker.
func (p *Processor) Options() []goka.ProcessorOption {
	sc := p.cfg.Kafka.GokaConfig(p.cfg.Flush)
	return []goka.ProcessorOption{
		goka.WithStorageBuilder(p.cfg.Storage),
		goka.WithConsumerGroupBuilder(p.watch.consumerGroups(kafkaio.InOrderCommits(func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
			return goka.ConsumerGroupBuilderWithConfig(copyOf(sc))(brokers, group, clientID)
		}))),
		goka.WithConsumerSaramaBuilder(func(brokers []string, clientID string) (sarama.Consumer, error) {
			return goka.SaramaConsumerBuilderWithConfig(copyOf(sc))(brokers, clientID)
		}),
		goka.WithProducerBuilder(func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
			return goka.ProducerBuilderWithConfig(copyOf(sc))(brokers, clientID, hasher)
		}),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, p.cfg.Kafka.GokaTopicManager())),
		goka.WithLogger(kafkaio.GokaLogger(p.cfg.Log.With("goka", string(Group)))),
		goka.WithClientID(p.cfg.Kafka.ClientID),
		goka.WithBackoffBuilder(kafkaio.GokaBackoff),
	}
}

// ScratchStorage keeps the processor's local table copies for a run that
// recovers them from their topics at every start: the auction table (a row
// per item, rewritten on every bid) in memory, where a write is a map
// assignment, and the bid-status lookup (a record per bid, never
// rewritten) in LevelDB under dir, which keeps it out of the heap.
func ScratchStorage(dir string) storage.Builder {
	rows, statuses := kafkaio.MemoryStorage(), storage.DefaultBuilder(dir)
	return func(topic string, partition int32) (storage.Storage, error) {
		if topic == schemas.TopicAuctionTable {
			return rows(topic, partition)
		}
		return statuses(topic, partition)
	}
}

// copyOf gives a goka client a sarama config of its own: goka's *WithConfig
// builders write the client id (and the producer's partitioner) into the
// config they are given, while the clients built before go on reading it;
// the lookup table's consumer runs while the group joins.
func copyOf(sc *sarama.Config) *sarama.Config {
	c := *sc
	return &c
}

// Run processes until ctx ends or goka fails. It first recovers its view
// of auction.bid-status (see Graph), which it stops only once goka's
// processor has stopped, so no callback reads a closed view.
func (p *Processor) Run(ctx context.Context, ready func()) error {
	statuses, err := NewBidView(p.cfg.Kafka, p.cfg.Log, goka.WithViewStorageBuilder(p.cfg.Storage))
	if err != nil {
		return fmt.Errorf("auction processor: %w", err)
	}
	viewCtx, stopView := context.WithCancel(context.WithoutCancel(ctx))
	viewDone := make(chan error, 1)
	go func() { viewDone <- statuses.Run(viewCtx) }()
	defer func() {
		stopView()
		<-viewDone
	}()
	select {
	case <-statuses.view.v.WaitRunning():
	case err := <-viewDone:
		viewDone <- err // for the deferred wait
		return fmt.Errorf("auction processor: bid statuses: %w", err)
	case <-ctx.Done():
		return nil
	}

	gp, err := goka.NewProcessor(p.cfg.Kafka.Brokers, p.Graph(statuses), p.Options()...)
	if err != nil {
		return fmt.Errorf("new auction processor: %w", err)
	}
	p.watch.running(gp)
	defer p.watch.running(nil)
	if ready != nil {
		go func() {
			if gp.WaitForReadyContext(ctx) == nil {
				ready()
			}
		}()
	}
	if err := gp.Run(ctx); err != nil {
		return fmt.Errorf("auction processor: %w", err)
	}
	return nil
}

// Supervise runs the processor until ctx ends, and starts it again
// whenever goka stops on an error: with the broker gone goka's processor
// gives up, and a start while the broker is still down fails on metadata. ready is called each time it has recovered its tables
// and joined the group, notReady each time it stops; retries back off from
// 200 ms to 2 s, so it resumes within seconds of the broker answering again.
// Committed offsets and the table topic make every restart carry on where
// the last one was acknowledged.
func (p *Processor) Supervise(ctx context.Context, ready func(), notReady func(error)) error {
	var wasReady atomic.Bool
	for attempt := 1; ; attempt++ {
		err := p.Run(ctx, func() { wasReady.Store(true); ready() })
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("auction processor: stopped on its own")
		}
		if wasReady.Swap(false) {
			attempt = 1
		}
		wait := kafkaio.Reconnect(attempt)
		notReady(err)
		p.cfg.Log.Warn("auction processor stopped; starting it again", "err", err, "in", wait.String(), "attempt", attempt)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (p *Processor) process(ctx goka.Context, msg any, statuses Statuses) {
	raw, _ := msg.([]byte)
	m := cekafka.Message{Key: []byte(ctx.Key()), Value: raw, Headers: fromGokaHeaders(ctx.Headers())}
	// The decision is a span in the trace of the event that asked for it:
	// for a bid, the trace of the HTTP request that placed it.
	tctx, span := telemetry.StartProcess(ctx.Context(), "decide "+string(ctx.Topic()), telemetry.Origin{
		Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(), Group: string(Group),
	}, m.Headers)
	defer span.End()
	in, err := p.decode(string(ctx.Topic()), m)
	in.Offset = ctx.Offset()
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		p.deadLetter(ctx, tctx, m, err)
		return
	}
	span.SetAttributes(attribute.String("cloudevents.event_id", in.EventID), attribute.String("auction.item_id", ctx.Key()))
	var s State
	if cur, ok := ctx.Value().(*State); ok && cur != nil {
		s = *cur
	}
	if b := in.Bid; b != nil {
		if _, recent := s.Verdict(b.BidID); !recent {
			st, err := statuses.Bid(b.BidID)
			if err != nil {
				// Not the record's fault: fail the processor, and the
				// record is read again when it is back.
				ctx.Fail(err)
			}
			in.Decided = PriorVerdict(st, *b)
		}
	}
	now := p.cfg.Now()
	next, outs := Decide(s, in, now)
	p.count(s, next)
	for _, o := range outs {
		switch d := o.Data.(type) {
		case schemas.BidAccepted:
			p.cfg.Observe.Decision(true, "")
			span.SetAttributes(attribute.String("auction.verdict", "accepted"))
		case schemas.BidRejected:
			p.cfg.Observe.Decision(false, string(d.Reason))
			span.SetAttributes(attribute.String("auction.verdict", "rejected"), attribute.String("auction.reason", string(d.Reason)))
		}
		cause := in.EventID
		if o.Cause != "" {
			cause = o.Cause
		}
		if err := p.emit(ctx, tctx, cause, o); err != nil {
			// An output we built ourselves failed to encode: a bug, not bad input.
			ctx.Fail(err)
		}
	}
	for _, st := range BidStatuses(in, next, outs, now) {
		ctx.Emit(goka.Stream(schemas.TopicBidStatus), st.BidID, &st)
	}
	if Write(s, next, in) {
		ctx.SetValue(&next)
	}
}

// decode turns a record into an Input, or says why it cannot: it reads
// the record as every consumer of the flow does (schemas.Read), so the
// processor, the closer and the functions refuse the same records.
func (p *Processor) decode(topic string, m cekafka.Message) (Input, error) {
	r, err := schemas.Read(topic, m)
	if err != nil {
		return Input{}, err
	}
	in := Input{EventID: r.Event.ID()}
	switch d := r.Data.(type) {
	case *schemas.ItemPlaced:
		in.Item = d
	case *schemas.BidPlaced:
		in.Bid = d
	case *schemas.CloseDue:
		in.Close = d
	case *schemas.ItemExtended:
		in.Extended = d
	default:
		return Input{}, fmt.Errorf("event %s: type %q is not an input of the auction processor", r.Event.ID(), r.Event.Type())
	}
	return in, nil
}

// count tells the observer about an auction that opened or closed.
func (p *Processor) count(before, after State) {
	if before.Status == after.Status {
		return
	}
	switch {
	case after.Status == StatusOpen:
		p.cfg.Observe.AuctionOpened()
	case after.Status == StatusClosed && after.Result != nil:
		outcome := "unsold"
		if after.Result.Sold {
			outcome = "sold"
		}
		p.cfg.Observe.AuctionClosed(outcome)
	}
}

// emit writes o, caused by the event cause, with the trace context of tctx.
func (p *Processor) emit(ctx goka.Context, tctx context.Context, cause string, o Output) error {
	e, err := schemas.NewEvent(o.Type, schemas.Meta{
		ID: o.ID, Source: source, Subject: ctx.Key(), Time: p.cfg.Now(), CausationID: cause,
	}, o.Data)
	if err != nil {
		return err
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		return fmt.Errorf("encode %s: %w", o.Type, err)
	}
	hs := telemetry.Inject(tctx, m.Headers)
	ctx.Emit(goka.Stream(o.Topic), ctx.Key(), m.Value, goka.WithCtxEmitHeaders(toGokaHeaders(hs)))
	return nil
}

// deadLetter moves a record the processor cannot read out of the way: the
// partition goes on, and the record waits on auction.dead-letter with its
// origin for someone to look at.
func (p *Processor) deadLetter(ctx goka.Context, tctx context.Context, m cekafka.Message, cause error) {
	p.cfg.Log.WarnContext(tctx, "dead-lettering record", "topic", ctx.Topic(), "partition", ctx.Partition(),
		"offset", ctx.Offset(), "err", cause)
	p.cfg.Observe.DeadLetter(string(Group))
	rec := kafkaio.DeadLetter(m, schemas.DeadLetter{
		Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset(),
		Error: cause.Error(), Attempts: 1, Consumer: string(Group), At: p.cfg.Now(),
	})
	ctx.Emit(goka.Stream(rec.Topic), ctx.Key(), rec.Value, goka.WithCtxEmitHeaders(toGokaHeaders(rec.Headers)))
}

func fromGokaHeaders(h goka.Headers) []cekafka.Header {
	out := make([]cekafka.Header, 0, len(h))
	for k, v := range h {
		out = append(out, cekafka.Header{Key: k, Value: v})
	}
	return out
}

func toGokaHeaders(hs []cekafka.Header) goka.Headers {
	h := make(goka.Headers, len(hs))
	for _, x := range hs {
		h[x.Key] = x.Value
	}
	return h
}

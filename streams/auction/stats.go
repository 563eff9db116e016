package auction

import (
	"context"
	"maps"
	"sync"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// Lags returns the lag of each input partition this instance has claimed,
// sorted by topic and partition; nothing while Run is not processing.
//
// goka's own Stats carry an OffsetLag, but it is taken from the table
// consumer, which never reads the input streams, and only once a minute. So
// the end of each partition comes from its claim (sarama keeps the high
// watermark of every fetch), and the position from goka's Stats.
func (p *Processor) Lags(ctx context.Context) []kafkaio.Lag {
	gp, claims := p.watch.snapshot()
	if gp == nil || len(claims) == 0 {
		return nil
	}
	stats := gp.StatsWithContext(ctx)
	lags := make([]kafkaio.Lag, 0, len(claims))
	for key, c := range claims {
		end := c.HighWaterMarkOffset()
		next := c.InitialOffset()
		if next == sarama.OffsetNewest {
			next = end
		}
		// Before its first record the offset may be OffsetOldest, which
		// counts from 0: an overstatement only for a partition whose
		// beginning has been deleted.
		next = max(next, 0)
		if ps := stats.Group[key.partition]; ps != nil {
			if in := ps.Input[key.topic]; in != nil && in.Count > 0 {
				next = max(next, in.LastOffset+1)
			}
		}
		lags = append(lags, kafkaio.Lag{Topic: key.topic, Partition: key.partition, Records: max(end-next, 0)})
	}
	kafkaio.SortLags(lags)
	return lags
}

type claimKey struct {
	topic     string
	partition int32
}

// watch follows the goka processor of a Run and the partitions its
// consumer group has claimed, for Lags.
type watch struct {
	mu     sync.Mutex
	gp     *goka.Processor
	claims map[claimKey]sarama.ConsumerGroupClaim
}

// running records the goka processor of Run, or nil once Run is over.
func (w *watch) running(gp *goka.Processor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gp = gp
}

func (w *watch) snapshot() (*goka.Processor, map[claimKey]sarama.ConsumerGroupClaim) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gp, maps.Clone(w.claims)
}

// consumerGroups wraps b so that w sees every claim its groups hand goka.
func (w *watch) consumerGroups(b goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := b(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return watchedGroup{ConsumerGroup: cg, w: w}, nil
	}
}

// watchedGroup passes goka's handler a watchedHandler.
type watchedGroup struct {
	sarama.ConsumerGroup
	w *watch
}

func (g watchedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, watchedHandler{ConsumerGroupHandler: h, w: g.w})
}

// watchedHandler registers each claim for as long as goka consumes it.
type watchedHandler struct {
	sarama.ConsumerGroupHandler
	w *watch
}

func (h watchedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	key := claimKey{c.Topic(), c.Partition()}
	h.w.mu.Lock()
	if h.w.claims == nil {
		h.w.claims = map[claimKey]sarama.ConsumerGroupClaim{}
	}
	h.w.claims[key] = c
	h.w.mu.Unlock()
	defer func() {
		h.w.mu.Lock()
		defer h.w.mu.Unlock()
		if h.w.claims[key] == c {
			delete(h.w.claims, key)
		}
	}()
	return h.ConsumerGroupHandler.ConsumeClaim(s, c)
}

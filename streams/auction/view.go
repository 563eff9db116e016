package auction

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/auctionflow/auction/internal/kafkaio"
)

// View is a read-only, continuously updated copy of the group table: the
// interactive query side of the processor. Every gateway instance runs one.
type View struct {
	v *goka.View
}

// NewView builds a view over the auction table, kept in memory.
func NewView(cfg kafkaio.Config, log *slog.Logger) (*View, error) {
	sc := cfg.GokaConfig(0)
	v, err := goka.NewView(cfg.Brokers, goka.GroupTable(Group), stateCodec{},
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, cfg.GokaTopicManager())),
		goka.WithViewLogger(kafkaio.GokaLogger(log.With("goka", "view"))),
		goka.WithViewClientID(cfg.ClientID),
	)
	if err != nil {
		return nil, fmt.Errorf("new auction view: %w", err)
	}
	return &View{v: v}, nil
}

// Run keeps the view up to date until ctx ends.
func (v *View) Run(ctx context.Context) error {
	if err := v.v.Run(ctx); err != nil {
		return fmt.Errorf("auction view: %w", err)
	}
	return nil
}

// Recovered reports whether the view has caught up with the table once.
func (v *View) Recovered() bool { return v.v.Recovered() }

// Get returns an auction's state, or nil if the view has not seen the item.
func (v *View) Get(itemID string) (*State, error) {
	val, err := v.v.Get(itemID)
	if err != nil {
		return nil, fmt.Errorf("get auction %s: %w", itemID, err)
	}
	s, _ := val.(*State)
	return s, nil
}

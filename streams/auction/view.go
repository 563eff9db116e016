package auction

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/lovoo/goka"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
)

// View is a read-only, continuously updated copy of the group table: the
// interactive query side of the processor. Every gateway instance runs one.
type View struct {
	v *goka.View
}

// NewView builds a view over the auction table. It keeps its copy in
// memory (kafkaio.MemoryStorage) unless opts say otherwise
// (goka.WithViewStorageBuilder).
func NewView(cfg kafkaio.Config, log *slog.Logger, opts ...goka.ViewOption) (*View, error) {
	return newView(cfg, log, goka.GroupTable(Group), stateCodec{}, opts)
}

// BidView is a view over auction.bid-status: every bid's latest status by
// bid id.
type BidView struct {
	view *View
}

// Run keeps the view up to date until ctx ends.
func (v *BidView) Run(ctx context.Context) error { return v.view.Run(ctx) }

// Recovered reports whether the view has caught up with the topic once.
func (v *BidView) Recovered() bool { return v.view.Recovered() }

// NewBidView builds a view over auction.bid-status (storage as for NewView).
func NewBidView(cfg kafkaio.Config, log *slog.Logger, opts ...goka.ViewOption) (*BidView, error) {
	v, err := newView(cfg, log, goka.Table(schemas.TopicBidStatus), bidStatusCodec{}, opts)
	if err != nil {
		return nil, err
	}
	return &BidView{view: v}, nil
}

func newView(cfg kafkaio.Config, log *slog.Logger, table goka.Table, codec goka.Codec, opts []goka.ViewOption) (*View, error) {
	sc := cfg.GokaConfig(0)
	v, err := goka.NewView(cfg.Brokers, table, codec, append([]goka.ViewOption{
		goka.WithViewStorageBuilder(kafkaio.MemoryStorage()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, cfg.GokaTopicManager())),
		goka.WithViewLogger(kafkaio.GokaLogger(log.With("goka", "view", "table", string(table)))),
		goka.WithViewClientID(cfg.ClientID),
		// A view serves reads: when the broker goes away it keeps answering
		// from its copy and reconnects, rather than taking the gateway down.
		goka.WithViewAutoReconnect(),
		goka.WithViewBackoffBuilder(kafkaio.GokaBackoff),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("new view of %s: %w", table, err)
	}
	return &View{v: v}, nil
}

// Run keeps the view up to date until ctx ends.
func (v *View) Run(ctx context.Context) error {
	if err := v.v.Run(ctx); err != nil {
		return fmt.Errorf("view: %w", err)
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

// Bid returns a bid's status, or nil if the processor has not seen the bid.
func (v *BidView) Bid(bidID string) (*schemas.BidStatus, error) {
	val, err := v.view.v.Get(bidID)
	if err != nil {
		return nil, fmt.Errorf("get bid %s: %w", bidID, err)
	}
	s, _ := val.(*schemas.BidStatus)
	return s, nil
}

// Page is one page of auctions in item-id order.
type Page struct {
	Items []*State
	// Next is the cursor of the following page; empty on the last page.
	Next string
}

// List returns up to limit auctions that keep accepts, starting after the
// cursor. Item ids are UUIDv7, so item-id order is the order items were
// placed. It scans the local copy of the table: fine for the listings of a
// demo-sized platform; a large one would keep a secondary index per filter.
func (v *View) List(after string, limit int, keep func(*State) bool) (Page, error) {
	it, err := v.v.Iterator()
	if err != nil {
		return Page{}, fmt.Errorf("list auctions: %w", err)
	}
	defer it.Release()
	var p Page
	for it.Next() {
		if it.Key() <= after {
			continue
		}
		val, err := it.Value()
		if err != nil {
			return Page{}, fmt.Errorf("list auctions at %s: %w", it.Key(), err)
		}
		s, _ := val.(*State)
		if s == nil || s.Item == nil || !keep(s) {
			continue
		}
		if len(p.Items) == limit {
			p.Next = p.Items[limit-1].Item.ItemID
			break
		}
		p.Items = append(p.Items, s)
	}
	return p, it.Err()
}

// Package placebid is the validate-bid edge function: it checks a bid
// against the contract and what the edge can know (the item exists and has
// not ended, the amount is positive, the bidder is not the seller), enriches
// it with the bidder's profile, stamps the bid id and the event time, and
// writes a bid-placed event to auction.bids. The item's timing and the
// seller are checked with the processor's own rules (schemas.BidTiming,
// schemas.BidOwnItem), so a bid gets the same reason whichever refuses it.
//
// The edge does not decide bids: whether an amount beats the highest bid is
// the processor's call, made in order, per item. The edge only refuses what
// is plainly wrong, and records each refusal on auction.rejected.
package placebid

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/edge"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// Request is one bid. BidderID comes from the caller's token. BidID is set
// by the caller when the bid must keep its id across retries (see
// IdempotentID); otherwise a new one is made.
type Request struct {
	BidderID string
	ItemID   string
	Amount   int64
	BidID    string
}

// Result is the bid id when the bid was written, or every reason it was not.
type Result struct {
	BidID   string
	Reasons []schemas.FieldError
}

// Accepted reports whether the bid was written to auction.bids.
func (r Result) Accepted() bool { return len(r.Reasons) == 0 }

// Item is what the edge knows of an item: enough to refuse the plainly wrong.
type Item struct {
	SellerID string
	Currency string
	// EndsAt is the latest the auction may still end as far as the edge
	// can tell: with a soft close, the latest a chain of late bids can
	// move it to, since the edge's view may not have seen the last move.
	EndsAt time.Time
	Closed bool
}

// Items looks items up; ok is false for an item nobody placed (yet).
type Items interface {
	Item(ctx context.Context, itemID string) (item Item, ok bool, err error)
}

// Users is the part of the user directory this function reads.
type Users interface {
	Get(ctx context.Context, id string) (userdir.User, error)
}

// Publisher writes events and returns once the log acknowledged them.
type Publisher = edge.Publisher

// Deps are what the function needs.
type Deps struct {
	Users     Users
	Items     Items
	Publisher Publisher
	Now       func() time.Time
}

const source = schemas.Source + "/functions/placebid"

// idNamespace scopes idempotent bid ids (a fixed, random UUID).
var idNamespace = uuid.MustParse("7c1f4a52-3a8e-4f0e-9a53-6f1d2b8e4c10")

// IdempotentID is the bid id for a client's idempotency key and the bid it
// was sent with: the same bidder, key, item and amount always give the same
// id, so even a retry that slips past the gateway's idempotency record is
// decided once by the processor. The id names the whole request, not the
// key alone: the same key sent with another bid (another item, another
// amount, after the gateway's record has expired or on a gateway that never
// saw it) is another bid, never a duplicate of the first dropped as such.
func IdempotentID(key string, req Request) string {
	name := fmt.Sprintf("%d:%s|%d:%s|%d:%s|%d", len(req.BidderID), req.BidderID, len(key), key,
		len(req.ItemID), req.ItemID, req.Amount)
	return uuid.NewSHA1(idNamespace, []byte(name)).String()
}

// Init returns the function's initialiser for the faas runtime.
func Init(d Deps) faas.Init[Request, Result] {
	return func(context.Context) (faas.Func[Request, Result], error) {
		fn, err := newFunction(d)
		if err != nil {
			return nil, err
		}
		return fn.handle, nil
	}
}

func newFunction(d Deps) (*function, error) {
	w, err := edge.NewWriter(source, d.Publisher)
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &function{Deps: d, events: w}, nil
}

type function struct {
	Deps
	events *edge.Writer
}

// InitBatch returns the batch form of the function: many bids checked one by
// one, then every accepted bid written in one produce call and every refusal
// in another. Per-bid latency is paid once per batch.
func InitBatch(d Deps) faas.Init[[]Request, []Result] {
	return func(context.Context) (faas.Func[[]Request, []Result], error) {
		fn, err := newFunction(d)
		if err != nil {
			return nil, err
		}
		return fn.handleBatch, nil
	}
}

func (f *function) handleBatch(ctx context.Context, reqs []Request) ([]Result, error) {
	now := f.Now().UTC()
	results := make([]Result, len(reqs))
	var bids, refusals []edge.Outgoing
	// A batch tends to bid on a few items many times, and a look-up reads
	// (and decodes) the item's whole row: each item is looked up once.
	batch := *f
	batch.Items = lookUpOnce(f.Items)
	for i, req := range reqs {
		bid, reasons, err := batch.check(ctx, req, now)
		if err != nil {
			return nil, err
		}
		if len(reasons) > 0 {
			rej := refusal(req, reasons)
			refusals = append(refusals, edge.Rejection(req.ItemID, rej, now))
			results[i] = Result{Reasons: reasons}
			continue
		}
		bids = append(bids, edge.Outgoing{Meta: bidMeta(bid, now), Data: bid})
		results[i] = Result{BidID: bid.BidID}
	}
	if len(bids) > 0 {
		if err := f.events.WriteAll(ctx, schemas.TopicBids, schemas.TypeBidPlaced, bids...); err != nil {
			return nil, err
		}
	}
	if len(refusals) > 0 {
		if err := f.events.WriteAll(ctx, schemas.TopicRejected, schemas.TypeEventRejected, refusals...); err != nil {
			return nil, fmt.Errorf("record rejected bids: %w", err)
		}
	}
	return results, nil
}

// lookUpOnce remembers what items answers, for the span of one batch.
func lookUpOnce(items Items) Items {
	type answer struct {
		item Item
		ok   bool
	}
	seen := map[string]answer{}
	return ItemsFunc(func(ctx context.Context, id string) (Item, bool, error) {
		if a, hit := seen[id]; hit {
			return a.item, a.ok, nil
		}
		it, ok, err := items.Item(ctx, id)
		if err == nil {
			seen[id] = answer{it, ok}
		}
		return it, ok, err
	})
}

func (f *function) handle(ctx context.Context, req Request) (Result, error) {
	now := f.Now().UTC()
	bid, reasons, err := f.check(ctx, req, now)
	if err != nil {
		return Result{}, err
	}
	if len(reasons) > 0 {
		rej := refusal(req, reasons)
		if err := f.events.Reject(ctx, req.ItemID, rej, now); err != nil {
			return Result{}, fmt.Errorf("record rejected bid: %w", err)
		}
		return Result{Reasons: reasons}, nil
	}
	if err := f.events.Write(ctx, schemas.TopicBids, schemas.TypeBidPlaced, bidMeta(bid, now), bid); err != nil {
		return Result{}, err
	}
	return Result{BidID: bid.BidID}, nil
}

// bidMeta describes a bid's event. Its cause is the item's placement, whose
// event id is the item id (see placeitem): in an auction's lineage every
// bid hangs off its item.
func bidMeta(bid schemas.BidPlaced, now time.Time) schemas.Meta {
	return schemas.Meta{ID: bid.BidID, Subject: bid.ItemID, Time: now, CausationID: bid.ItemID}
}

// ContractFaults lists how req's amount breaks the bid's contract (its
// schema: 1 to MaxAmount minor units), with no lookup. The function
// refuses such a bid; the batch endpoint refuses a whole batch holding one
// before anything is written.
func ContractFaults(req Request) []schemas.FieldError {
	var faults []schemas.FieldError
	switch {
	case req.Amount <= 0:
		faults = append(faults, schemas.FieldError{Field: "/amount", Code: "minimum", Message: "amount must be a positive amount in minor units"})
	case req.Amount > schemas.MaxAmount:
		faults = append(faults, schemas.FieldError{Field: "/amount", Code: "maximum", Message: fmt.Sprintf("amount must be at most %d", schemas.MaxAmount)})
	}
	return faults
}

// check validates req and builds the bid, or lists why not.
func (f *function) check(ctx context.Context, req Request, now time.Time) (schemas.BidPlaced, []schemas.FieldError, error) {
	reasons := ContractFaults(req)
	add := func(field, code, msg string) {
		reasons = append(reasons, schemas.FieldError{Field: field, Code: code, Message: msg})
	}
	item, ok, err := f.Items.Item(ctx, req.ItemID)
	if err != nil {
		return schemas.BidPlaced{}, nil, fmt.Errorf("look up item %s: %w", req.ItemID, err)
	}
	if ok {
		// The processor's rules, applied early: the bid is stamped now, so
		// a bid refused here would get the same reason there.
		if r, d := schemas.BidTiming(now, item.EndsAt, item.Closed); r != "" {
			add("/itemId", string(r), d)
		} else if r, d := schemas.BidOwnItem(req.BidderID, item.SellerID); r != "" {
			add("/itemId", string(r), d)
		}
	} else {
		add("/itemId", string(schemas.ReasonUnknownItem), "no such item")
	}
	bidder, err := f.Users.Get(ctx, req.BidderID)
	switch {
	case errors.Is(err, userdir.ErrNotFound):
		add("/bidderId", "unknown_user", "the bidder is not a registered user")
	case err != nil:
		return schemas.BidPlaced{}, nil, fmt.Errorf("look up bidder %s: %w", req.BidderID, err)
	}
	if len(reasons) > 0 {
		return schemas.BidPlaced{}, reasons, nil
	}
	id := req.BidID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	return schemas.BidPlaced{
		BidID:    id,
		ItemID:   req.ItemID,
		Bidder:   schemas.Party{ID: bidder.ID, Name: bidder.Name, Location: bidder.Location()},
		Amount:   schemas.Money{Amount: req.Amount, Currency: item.Currency},
		PlacedAt: now,
	}, nil, nil
}

// refusal is the auction.rejected data for a refused bid. The item id is
// whatever the caller sent (a URL segment, a batch field); it is recorded
// only when it fits the contract's id (1 to 128 characters), so a bid on an
// absurdly long item id is refused, not failed as an invalid event.
func refusal(req Request, reasons []schemas.FieldError) schemas.EventRejected {
	subject := req.ItemID
	if utf8.RuneCountInString(subject) > schemas.MaxIDLength {
		subject = ""
	}
	return schemas.EventRejected{Kind: "bid", SubjectID: subject, UserID: req.BidderID, Reasons: reasons}
}

// ItemsFunc adapts a function to Items.
type ItemsFunc func(ctx context.Context, itemID string) (Item, bool, error)

// Item calls f.
func (f ItemsFunc) Item(ctx context.Context, itemID string) (Item, bool, error) {
	return f(ctx, itemID)
}

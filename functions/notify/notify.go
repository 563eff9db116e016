package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// Sentinel errors every Outbox implementation returns.
var (
	// ErrNotFound: no notification has the id.
	ErrNotFound = errors.New("notification not found")
	// ErrInvalid: an argument or event is unusable as given (an empty id,
	// a limit below 1, an item-complete without an item id).
	ErrInvalid = errors.New("invalid notification input")
)

// Channels a notification goes out on, as NotificationSent.Channels names
// them.
const (
	ChannelInbox = "inbox"
	ChannelEmail = "email"
)

// Notification is one message to one user about one auction. It is both the
// intent to notify (recorded before anything is sent) and the user's inbox
// entry.
type Notification struct {
	// ID is ID(ItemID, UserID, Kind): the same event always gives the same
	// id, which is what makes redelivery harmless.
	ID     string
	UserID string
	ItemID string
	Kind   schemas.NotificationKind
	// Message is the text the inbox shows and the email says.
	Message string
	// At is when the notification was first recorded; the inbox is ordered
	// by it.
	At time.Time
	// Email is the address the email goes to, as the directory had it when
	// the intent was recorded; empty means inbox only.
	Email string
	// SentAt is when every channel had been served; nil until then.
	SentAt *time.Time
}

// ID is the id of the notification of kind to userID about itemID.
func ID(itemID, userID string, kind schemas.NotificationKind) string {
	return itemID + "/" + userID + "/" + string(kind)
}

// Channels are the channels n goes out on.
func (n Notification) Channels() []string {
	if n.Email == "" {
		return []string{ChannelInbox}
	}
	return []string{ChannelInbox, ChannelEmail}
}

// Outbox records notifications: the intent to send one, exactly once per id,
// whether it was sent, and each user's inbox. Implementations: Memory and
// Dynamo; notifytest.RunOutboxContract is what every implementation keeps.
type Outbox interface {
	// Reserve records n unless a notification with n.ID exists already. It
	// returns the stored notification (n, or the one recorded first, which
	// wins) and whether this call recorded it. Concurrent calls with one id
	// record it once. n.SentAt is ignored: only MarkSent marks.
	Reserve(ctx context.Context, n Notification) (stored Notification, fresh bool, err error)
	// MarkSent records that notification id was sent at at. The first mark
	// stands; marking again is not an error. An unknown id is ErrNotFound.
	MarkSent(ctx context.Context, id string, at time.Time) error
	// ForUser returns up to limit of the user's notifications, newest
	// (by At) first.
	ForUser(ctx context.Context, userID string, limit int) ([]Notification, error)
}

// Mailer sends one email. messageID identifies the notification; a resend of
// the same notification passes the same messageID, which the mailer puts in
// the Message-ID header so the copy is recognisable as such.
type Mailer interface {
	Send(ctx context.Context, to, subject, body, messageID string) error
}

// Users is the part of the user directory the notifier reads: a user's name
// and email address. userdir.Directory and userdir.Cached satisfy it. A user it
// does not know must be reported as userdir.ErrNotFound.
type Users interface {
	Get(ctx context.Context, id string) (userdir.User, error)
}

// DefaultConcurrency is how many notifications of a batch are handled at
// once unless Deps says otherwise. Each one waits on the directory, the store
// and an SMTP round trip, so a batch of a thousand closed auctions handled
// one notification at a time would take minutes.
const DefaultConcurrency = 8

// Deps are what a Notifier needs.
type Deps struct {
	Outbox Outbox
	Mailer Mailer
	Users  Users
	// Now stamps notifications and sent marks (default time.Now).
	Now func() time.Time
	// Log defaults to discarding.
	Log *slog.Logger
	// Concurrency bounds the notifications of a batch handled at once
	// (default DefaultConcurrency). Their order does not matter: each is
	// for one user and stands alone.
	Concurrency int
	// OutbidWindow is how often at most a bidder is told they were outbid
	// on one item (default DefaultOutbidWindow).
	OutbidWindow time.Duration
}

// DefaultOutbidWindow spaces the outbid notices of one bidder on one item:
// in a bidding war the first tells them all they need, and the page shows
// the rest live.
const DefaultOutbidWindow = 5 * time.Minute

// Notifier is the notify-bidders function.
type Notifier struct {
	d Deps
}

// New returns a Notifier on d.
func New(d Deps) *Notifier {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Concurrency <= 0 {
		d.Concurrency = DefaultConcurrency
	}
	if d.OutbidWindow <= 0 {
		d.OutbidWindow = DefaultOutbidWindow
	}
	return &Notifier{d: d}
}

// Handle notifies everyone involved in each completed auction of done: the
// winner ("won"), every other bidder ("lost"), and the seller ("sold" or
// "unsold"). It returns a NotificationSent for every one of those
// notifications that has been delivered, whether by this call or an earlier
// one (see the package documentation), in the order of done.
//
// An error means some notifications may not have been delivered; handling
// the same batch again delivers them without repeating the others.
func (n *Notifier) Handle(ctx context.Context, done []schemas.ItemCompleted) ([]schemas.NotificationSent, error) {
	// Check the whole batch first, so bad input fails it before anything
	// has been sent rather than halfway through.
	for i, ic := range done {
		if ic.ItemID == "" || ic.SellerID == "" {
			return nil, fmt.Errorf("item-complete %d of the batch: no item or seller id: %w", i, ErrInvalid)
		}
	}
	var todo []draft
	for _, ic := range done {
		todo = append(todo, drafts(ic)...)
	}
	return n.deliverAll(ctx, todo)
}

// HandleOutbid tells each bidder whose highest bid one of accepted
// overtook that they have been outbid ("outbid"), at most once per item
// in each window of Deps.OutbidWindow (by the overtaking bid's decision
// time, so a redelivery falls in the same window and is the same
// notification). It returns the NotificationSent of each, as Handle does.
func (n *Notifier) HandleOutbid(ctx context.Context, accepted []schemas.BidAccepted) ([]schemas.NotificationSent, error) {
	var todo []draft
	for _, a := range accepted {
		if d, ok := outbidDraft(a, n.d.OutbidWindow); ok {
			todo = append(todo, d)
		}
	}
	return n.deliverAll(ctx, todo)
}

// deliverAll delivers each draft once, however often the batch names it,
// up to Deps.Concurrency at a time, and returns their events in order.
func (n *Notifier) deliverAll(ctx context.Context, drafts []draft) ([]schemas.NotificationSent, error) {
	var todo []draft
	seen := map[string]bool{} // the same event twice in one batch
	for _, d := range drafts {
		if !seen[d.id] {
			seen[d.id] = true
			todo = append(todo, d)
		}
	}
	sent := make([]*schemas.NotificationSent, len(todo))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n.d.Concurrency)
	for i, d := range todo {
		if gctx.Err() != nil {
			break // one has failed, or the caller gave up; a retry does the rest
		}
		g.Go(func() error {
			ev, err := n.deliver(gctx, d)
			if err != nil {
				return fmt.Errorf("notify %s: %w", d.id, err)
			}
			sent[i] = &ev
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]schemas.NotificationSent, 0, len(sent))
	for i, ev := range sent {
		if ev == nil { // never started: ctx ended before its turn
			return nil, fmt.Errorf("notify %s: %w", todo[i].id, context.Cause(ctx))
		}
		out = append(out, *ev)
	}
	return out, nil
}

// deliver takes one notification through intent, email and sent mark, each
// step skipped if an earlier delivery of the event got past it.
func (n *Notifier) deliver(ctx context.Context, d draft) (schemas.NotificationSent, error) {
	u, err := n.d.Users.Get(ctx, d.userID)
	switch {
	case errors.Is(err, userdir.ErrNotFound):
		// Not worth blocking the partition for: the inbox still works if
		// the account comes back, and nobody can fix a missing address by
		// retrying.
		n.d.Log.WarnContext(ctx, "user not in directory; notifying in the inbox only",
			"notification", d.id, "user", d.userID, "item", d.itemID)
	case err != nil:
		return schemas.NotificationSent{}, fmt.Errorf("look up user: %w", err)
	}

	stored, fresh, err := n.d.Outbox.Reserve(ctx, Notification{
		ID:      d.id,
		UserID:  d.userID,
		ItemID:  d.itemID,
		Kind:    d.kind,
		Message: d.message,
		At:      n.d.Now(),
		Email:   u.Email,
	})
	if err != nil {
		return schemas.NotificationSent{}, fmt.Errorf("reserve: %w", err)
	}
	if stored.SentAt != nil {
		return sentEvent(stored, *stored.SentAt), nil
	}
	if !fresh {
		// An earlier attempt recorded the intent but did not mark it sent:
		// it failed or crashed, perhaps after the email went out. Sending
		// again is the at-least-once half of the bargain.
		n.d.Log.InfoContext(ctx, "resuming an unfinished notification", "notification", stored.ID)
	}
	if stored.Email != "" {
		if err := n.d.Mailer.Send(ctx, stored.Email, d.subject, emailBody(stored, u.Name), stored.ID); err != nil {
			return schemas.NotificationSent{}, fmt.Errorf("send email: %w", err)
		}
	}
	at := n.d.Now()
	if err := n.d.Outbox.MarkSent(ctx, stored.ID, at); err != nil {
		return schemas.NotificationSent{}, fmt.Errorf("mark sent: %w", err)
	}
	return sentEvent(stored, at), nil
}

// draft is a notification the notifier means to deliver, before the intent
// is recorded.
type draft struct {
	id, itemID, userID string
	kind               schemas.NotificationKind
	// message is what the inbox shows and the email says; subject is the
	// email's.
	message, subject string
}

func completionDraft(ic schemas.ItemCompleted, userID string, kind schemas.NotificationKind) draft {
	return draft{id: ID(ic.ItemID, userID, kind), itemID: ic.ItemID, userID: userID, kind: kind,
		message: message(ic, kind), subject: subject(ic, kind)}
}

// drafts lists who is told what about ic: the winner, then the other bidders
// in the order the event names them, then the seller.
func drafts(ic schemas.ItemCompleted) []draft {
	var out []draft
	winner := ""
	if ic.Sold && ic.WinnerID != "" {
		winner = ic.WinnerID
		out = append(out, completionDraft(ic, winner, schemas.NotifyWon))
	}
	for _, b := range ic.Bidders {
		// The seller cannot bid (the processor rejects it), but an event
		// that says otherwise should not make them a losing bidder too.
		if b == "" || b == winner || b == ic.SellerID {
			continue
		}
		out = append(out, completionDraft(ic, b, schemas.NotifyLost))
	}
	kind := schemas.NotifyUnsold
	if ic.Sold {
		kind = schemas.NotifySold
	}
	return append(out, completionDraft(ic, ic.SellerID, kind))
}

// OutbidID is the id of the notice to userID that they were outbid on
// itemID by a bid decided at decidedAt: one id for each window of that
// length, numbered from the Unix epoch.
func OutbidID(itemID, userID string, decidedAt time.Time, window time.Duration) string {
	return ID(itemID, userID, schemas.NotifyOutbid) + "/" + strconv.FormatInt(decidedAt.UnixNano()/int64(window), 10)
}

// outbidDraft is the notice a's overtaken bidder is sent, if a overtook
// another bidder's bid.
func outbidDraft(a schemas.BidAccepted, window time.Duration) (draft, bool) {
	ob := a.Outbid
	if ob == nil || ob.BidderID == "" || ob.BidderID == a.BidderID {
		return draft{}, false
	}
	return draft{id: OutbidID(a.ItemID, ob.BidderID, a.DecidedAt, window), itemID: a.ItemID, userID: ob.BidderID,
		kind: schemas.NotifyOutbid, message: outbidMessage(a), subject: "Outbid: " + itemName(a)}, true
}

func sentEvent(n Notification, at time.Time) schemas.NotificationSent {
	return schemas.NotificationSent{
		NotificationID: n.ID,
		UserID:         n.UserID,
		ItemID:         n.ItemID,
		Kind:           n.Kind,
		Channels:       n.Channels(),
		Message:        n.Message,
		SentAt:         at,
	}
}

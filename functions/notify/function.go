package notify

import (
	"context"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
)

// Source is the CloudEvents source of the notification-sent events.
const Source = schemas.Source + "/functions/notify"

// OnCompleted is the notifier as a trigger function of item-complete
// events (see trigger.Function): it delivers every notification of the
// batch (see Handle) and returns one auction.notifications event for each,
// caused by the completion it announces, keyed by the user it went to. The
// event id is the notification's, so a batch delivered again announces the
// same events again, never new ones.
func (n *Notifier) OnCompleted(ctx context.Context, evs []trigger.Event[schemas.ItemCompleted]) ([]trigger.Output, error) {
	done := make([]schemas.ItemCompleted, len(evs))
	cause := make(map[string]int, len(evs))
	for i, e := range evs {
		done[i] = e.Data
		if _, ok := cause[e.Data.ItemID]; !ok {
			cause[e.Data.ItemID] = i
		}
	}
	sent, err := n.Handle(ctx, done)
	if err != nil {
		return nil, err
	}
	return announce(sent, func(s schemas.NotificationSent) int { return cause[s.ItemID] }), nil
}

// OnAccepted is the outbid notifier as a trigger function of accepted bids
// on auction.bid-results (rejections are passed over; see
// trigger.Function): it tells each bidder an accepted bid overtook (see
// HandleOutbid) and returns the auction.notifications event of each
// notice, caused by the bid that overtook them.
func (n *Notifier) OnAccepted(ctx context.Context, evs []trigger.Event[schemas.BidAccepted]) ([]trigger.Output, error) {
	accepted := make([]schemas.BidAccepted, len(evs))
	cause := make(map[string]int, len(evs))
	for i, e := range evs {
		accepted[i] = e.Data
		if d, ok := outbidDraft(e.Data, n.d.OutbidWindow); ok {
			if _, seen := cause[d.id]; !seen {
				cause[d.id] = i
			}
		}
	}
	sent, err := n.HandleOutbid(ctx, accepted)
	if err != nil {
		return nil, err
	}
	return announce(sent, func(s schemas.NotificationSent) int { return cause[s.NotificationID] }), nil
}

// announce is the auction.notifications event of each notification sent,
// keyed by the user it went to, its id the notification's, caused by the
// event of the batch at cause(s).
func announce(sent []schemas.NotificationSent, cause func(schemas.NotificationSent) int) []trigger.Output {
	out := make([]trigger.Output, len(sent))
	for i, s := range sent {
		out[i] = trigger.Output{
			Topic: schemas.TopicNotifications, Type: schemas.TypeNotificationSent,
			Meta: schemas.Meta{ID: s.NotificationID, Source: Source, Subject: s.ItemID, Key: s.UserID, Time: s.SentAt},
			Data: s, Cause: cause(s),
		}
	}
	return out
}

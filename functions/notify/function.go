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
	out := make([]trigger.Output, len(sent))
	for i, s := range sent {
		out[i] = trigger.Output{
			Topic: schemas.TopicNotifications, Type: schemas.TypeNotificationSent,
			Meta: schemas.Meta{ID: s.NotificationID, Source: Source, Subject: s.ItemID, Key: s.UserID, Time: s.SentAt},
			Data: s, Cause: cause[s.ItemID],
		}
	}
	return out, nil
}

// Package notify is the out-of-band notify-bidders function: when an auction
// closes it tells the winner they won, every other bidder they lost, and the
// seller whether the item sold; and when a bid overtakes another bidder's,
// it tells that bidder they were outbid, at most once per item in each
// window (Deps.OutbidWindow). Each goes by email and into an in-app inbox.
//
// In: auction.item-complete (schemas.ItemCompleted, keyed by item id), handed
// to Notifier.Handle in batches by the Kafka trigger; and the accepted bids
// of auction.bid-results (schemas.BidAccepted), handed to HandleOutbid. Out: the
// schemas.NotificationSent events Handle returns, which the trigger writes to
// auction.notifications (keyed by user id); email over SMTP (SMTPMailer); and
// the inbox, an Outbox store (Memory for the embedded mode, Dynamo on
// DynamoDB) that ForUser reads newest first.
//
// # Exactly one inbox entry, at least one email
//
// The trigger is at-least-once: after a crash or a failed batch, the same
// item-complete is handed to Handle again. Handle therefore never acts on an
// event directly. Each notification has an id derived from the event
// ("<itemId>/<userId>/<kind>", see ID; an outbid notice adds the number of
// its window, see OutbidID), and is handled in three steps:
//
//  1. Reserve records the intent, once per id (a conditional write). The
//     intent is the inbox entry, so the inbox holds exactly one entry per
//     notification however often the event is delivered.
//  2. Unless the stored intent is already marked sent, the email is sent,
//     with the header Message-ID: <id@auction>.
//  3. MarkSent records that it was.
//
// A redelivered batch finds every intent marked sent and sends nothing. A
// crash between steps 2 and 3 is the one case that repeats an email: the
// redelivery sends it again, with the same Message-ID, so a mail client (or
// a person) can tell it is the same message. Exactly-once email would need
// the mail server to take part in the transaction, which SMTP does not offer.
//
// A user the directory does not know gets the inbox entry only; that is
// logged and is not an error, so one deleted account cannot stall a
// partition. A failure of the directory, the store or the mailer is an
// error: the trigger retries the batch, and the steps above make the retry
// pick up where the failed attempt stopped.
//
// # Events out are at least once too
//
// Handle returns a NotificationSent for every notification of the batch that
// has been delivered, by this call or by an earlier one, with the time the
// outbox has it marked sent. That way a batch whose events were not written (the
// trigger failed to produce them, or crashed before it did) writes the same
// events when it is retried, instead of losing them because the emails had
// already gone. Consumers of auction.notifications deduplicate by
// NotificationID, as they must for any at-least-once topic.
package notify

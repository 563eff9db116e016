package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/cmd/lambda/internal/lambdatest"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/internal/userdir/userdirtest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// TestUnderTheLambdaRuntime runs notify as AWS Lambda runs it: built as a
// provided.al2023 bootstrap, started by the Runtime Interface Emulator,
// invoked over the emulator's invoke API with a Kafka event as the event
// source mappings deliver it, against a Kafka broker, dynalite and an SMTP
// server. A completion notifies the winner, the loser and the seller once
// each, and a verdict on auction.bid-results tells the bidder it overtook
// (inbox, email, auction.notifications); a rejection is passed over; the
// same event invoked again notifies nobody twice; a record under another
// item's key is dead-lettered with its origin and the invocation still
// succeeds.
func TestUnderTheLambdaRuntime(t *testing.T) {
	st := lambdatest.NewStores(t, schemas.TopicItemComplete, schemas.TopicBidResults, schemas.TopicNotifications, schemas.TopicDeadLetter)
	brokers, client := st.Brokers, st.Dynamo
	usersTable := dynamotest.NewTable(t, client, userdir.EnsureTable)
	notesTable := dynamotest.NewTable(t, client, notify.EnsureTable)
	userdirtest.Seed(t, userdir.NewDynamo(client, usersTable), userdir.User{ID: "u-sam", Name: "Sam Seller", Email: "sam@example.com"},
		userdir.User{ID: "u-bob", Name: "Bob Baker", Email: "bob@example.com"}, userdir.User{ID: "u-dan", Name: "Dan Dale", Email: "dan@example.com"})
	mail := notifytest.StartMailServer(t, notifytest.MailServerOptions{})

	fn := lambdatest.Start(t, append(st.Env(),
		"AUCTION_USERS_TABLE="+usersTable, "AUCTION_NOTIFICATIONS_TABLE="+notesTable, "AUCTION_SMTP_ADDR="+mail.Addr)...)

	run := time.Now().UnixNano()
	done := schemas.ItemCompleted{ItemID: fmt.Sprintf("item-%d", run), SellerID: "u-sam", Title: "Brass telescope", Category: "optics",
		Sold: true, WinnerID: "u-bob", Price: &schemas.Money{Amount: 15000, Currency: "EUR"}, ReserveMet: true, BidCount: 2,
		Bidders: []string{"u-bob", "u-dan"}, EndsAt: time.Now().Add(-2 * time.Second).UTC(), ClosedAt: time.Now().UTC()}
	// Bob's last bid, which overtook Dan's, and a rejection before it.
	decided := done.EndsAt.Add(-time.Second)
	overtook := schemas.BidAccepted{BidID: "bid-2", ItemID: done.ItemID, BidderID: "u-bob", Amount: *done.Price,
		PlacedAt: decided, DecidedAt: decided, BidCount: 2, Outbid: &schemas.Outbid{BidID: "bid-1", BidderID: "u-dan",
			Amount: schemas.Money{Amount: 12000, Currency: "EUR"}, Title: done.Title}}
	refused := schemas.BidRejected{BidID: "bid-0", ItemID: done.ItemID, BidderID: "u-dan", Amount: schemas.Money{Amount: 1, Currency: "EUR"},
		Reason: schemas.ReasonBelowStart, PlacedAt: decided, DecidedAt: decided}
	verdict := func(id, typ string, data any) cekafka.Message {
		return lambdatest.Message(t, typ, schemas.Meta{ID: id, Source: "/test/processor", Subject: done.ItemID, Key: done.ItemID, Time: decided}, data)
	}
	ev := kafkaevent.Event(
		trigger.Record{Topic: schemas.TopicItemComplete, Partition: 1, Offset: 41, Message: lambdatest.Completion(t, "done-1", done.ItemID, done)},
		trigger.Record{Topic: schemas.TopicItemComplete, Partition: 1, Offset: 42, Message: lambdatest.Completion(t, "done-2", "item-other", done)},
		trigger.Record{Topic: schemas.TopicBidResults, Partition: 1, Offset: 7, Message: verdict("bid-0.result", schemas.TypeBidRejected, refused)},
		trigger.Record{Topic: schemas.TopicBidResults, Partition: 1, Offset: 8, Message: verdict("bid-2.result", schemas.TypeBidAccepted, overtook)},
	)

	first := fn.Invoke(t, ev)
	t.Logf("first invocation (cold start): %s", first)
	lambdatest.WaitFor(t, "four notifications", func() bool { return len(mail.Mails()) >= 4 })
	for user, want := range map[string]int{"u-sam": 1, "u-bob": 1, "u-dan": 2} {
		ns, err := notify.NewDynamo(client, notesTable).ForUser(t.Context(), user, 10)
		if err != nil || len(ns) != want {
			t.Errorf("inbox of %s: %d notifications (%v), want %d", user, len(ns), err, want)
		}
	}
	// This run's records: on a shared broker, the topics hold other tests' too.
	ours := func(topic string) []kafkatest.Record {
		var out []kafkatest.Record
		if n := int(kafkatest.Count(t, brokers, topic, 3)); n > 0 {
			for _, r := range kafkatest.ReadN(t, brokers, topic, n, 30*time.Second) {
				if bytes.Contains(r.Value, []byte(done.ItemID)) {
					out = append(out, r)
				}
			}
		}
		return out
	}
	lambdatest.WaitFor(t, "four announcements", func() bool { return len(ours(schemas.TopicNotifications)) >= 4 })
	lambdatest.WaitFor(t, "a dead letter", func() bool { return len(ours(schemas.TopicDeadLetter)) >= 1 })
	letters := ours(schemas.TopicDeadLetter)
	if v, _ := letters[0].Header(schemas.HeaderDLQOffset); len(letters) != 1 || string(v) != "42" {
		t.Errorf("%d dead letters, the first from offset %q; want one, from 42 (the record under another item's key)", len(letters), v)
	}

	second := fn.Invoke(t, ev)
	t.Logf("second invocation (warm): %s", second)
	if n := len(mail.Mails()); n != 4 {
		t.Errorf("after the same event again: %d emails, want 4 (each once)", n)
	}
	ids := map[string]bool{}
	// A redelivered completion may be announced again, under the same ids.
	announced := ours(schemas.TopicNotifications)
	total := len(announced)
	for _, r := range announced {
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			t.Fatal(err)
		}
		ids[e.ID()] = true
	}
	if len(ids) != 4 {
		t.Errorf("announcements: %d records, %d distinct events, want 4", total, len(ids))
	}
	fn.LogFigures(t)
}

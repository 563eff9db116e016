package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttpsdk "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/auctionflow/auction/cmd/cloudevents/internal/serve"
	"github.com/auctionflow/auction/cmd/internal/outofband"
	"github.com/auctionflow/auction/functions/cehttp/cehttptest"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/internal/userdir/userdirtest"
	"github.com/auctionflow/auction/schemas"
)

// TestAsACloudEventsSink runs notify as Knative or Cloud Run would: its
// HTTP handler, set up from the environment against dynalite and an SMTP
// server, its announcements going to K_SINK (the CloudEvents SDK's
// receiver); the deliveries come from the CloudEvents SDK's HTTP client, as
// a broker sends them. A completion in binary mode notifies its three
// people, a verdict in structured mode tells the bidder it overtook, a
// rejection is passed over, a completion delivered again notifies nobody
// twice, and one under another item's key is refused (422: the broker's
// dead letter).
func TestAsACloudEventsSink(t *testing.T) {
	endpoint := dynamotest.Endpoint(t)
	client, err := dynamotable.NewClient(t.Context(), endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	usersTable := dynamotest.NewTable(t, client, userdir.EnsureTable)
	notesTable := dynamotest.NewTable(t, client, notify.EnsureTable)
	userdirtest.Seed(t, userdir.NewDynamo(client, usersTable), userdir.User{ID: "u-sam", Name: "Sam Seller", Email: "sam@example.com"},
		userdir.User{ID: "u-bob", Name: "Bob Baker", Email: "bob@example.com"}, userdir.User{ID: "u-dan", Name: "Dan Dale", Email: "dan@example.com"})
	mail := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	sink, received := cehttptest.Receiver(t)

	env := map[string]string{
		"AUCTION_DYNAMODB_ENDPOINT": endpoint, "AUCTION_USERS_TABLE": usersTable, "AUCTION_NOTIFICATIONS_TABLE": notesTable,
		"AUCTION_SMTP_ADDR": mail.Addr, "K_SINK": sink,
	}
	h, closeFn, err := serve.Handler(t.Context(), "notify", func(k string) string { return env[k] }, outofband.Notify, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()
	broker, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(srv.URL))
	if err != nil {
		t.Fatal(err)
	}

	item := fmt.Sprintf("item-%d", time.Now().UnixNano())
	at := time.Now().UTC().Truncate(time.Millisecond)
	done := schemas.ItemCompleted{ItemID: item, SellerID: "u-sam", Title: "Brass telescope", Category: "optics",
		Sold: true, WinnerID: "u-bob", Price: &schemas.Money{Amount: 15000, Currency: "EUR"}, ReserveMet: true, BidCount: 2,
		Bidders: []string{"u-bob", "u-dan"}, EndsAt: at, ClosedAt: at}
	overtook := schemas.BidAccepted{BidID: "bid-2", ItemID: item, BidderID: "u-bob", Amount: *done.Price,
		PlacedAt: at, DecidedAt: at, BidCount: 2, Outbid: &schemas.Outbid{BidID: "bid-1", BidderID: "u-dan",
			Amount: schemas.Money{Amount: 12000, Currency: "EUR"}, Title: done.Title}}
	refused := schemas.BidRejected{BidID: "bid-0", ItemID: item, BidderID: "u-dan", Amount: schemas.Money{Amount: 1, Currency: "EUR"},
		Reason: schemas.ReasonBelowStart, PlacedAt: at, DecidedAt: at}
	ev := func(id, typ, key string, data any) event.Event {
		e, err := schemas.NewEvent(typ, schemas.Meta{ID: id, Source: "/auction/streams/auction", Subject: item, Key: key, Time: at}, data)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	binary, structured := cloudevents.WithEncodingBinary(t.Context()), cloudevents.WithEncodingStructured(t.Context())
	for _, d := range []struct {
		name   string
		ctx    context.Context
		event  event.Event
		status int
	}{
		{"a completion, binary mode", binary, ev(item+".completed", schemas.TypeItemCompleted, item, done), http.StatusAccepted},
		{"a rejection, structured mode", structured, ev("bid-0.result", schemas.TypeBidRejected, item, refused), http.StatusAccepted},
		{"a verdict that outbid Dan, structured mode", structured, ev("bid-2.result", schemas.TypeBidAccepted, item, overtook), http.StatusAccepted},
		{"the completion again", binary, ev(item+".completed", schemas.TypeItemCompleted, item, done), http.StatusAccepted},
		{"the completion under another item's key", binary, ev(item+".other", schemas.TypeItemCompleted, "item-other", done), http.StatusUnprocessableEntity},
	} {
		res := broker.Send(d.ctx, d.event)
		var hr *cehttpsdk.Result
		if !cloudevents.ResultAs(res, &hr) || hr.StatusCode != d.status {
			t.Fatalf("%s: got %v, want %d", d.name, res, d.status)
		}
	}

	outbox := notify.NewDynamo(client, notesTable)
	for user, want := range map[string]int{"u-sam": 1, "u-bob": 1, "u-dan": 2} {
		if ns, err := outbox.ForUser(t.Context(), user, 10); err != nil || len(ns) != want {
			t.Errorf("inbox of %s: %d notifications (%v), want %d", user, len(ns), err, want)
		}
	}
	if n := len(mail.Mails()); n != 4 {
		t.Errorf("emails: got %d, want 4 (each notification once)", n)
	}
	// The announcements reached the sink, each notification's event at
	// least once (the completion delivered again announces its own again).
	ids := map[string]bool{}
	for _, e := range received() {
		if e.Type() == schemas.TypeNotificationSent {
			ids[e.ID()] = true
		}
	}
	if len(ids) != 4 || !ids[notify.ID(item, "u-dan", schemas.NotifyLost)] {
		t.Errorf("announced on the sink: %v, want the 4 notifications", ids)
	}
}

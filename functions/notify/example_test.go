package notify_test

import (
	"context"
	"fmt"
	"time"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// printMailer prints what it would send.
type printMailer struct{}

func (printMailer) Send(_ context.Context, to, subject, _, messageID string) error {
	fmt.Printf("email to %s: %q %s\n", to, subject, notify.MessageID(messageID))
	return nil
}

// Handle is given a batch of closed auctions, as the Kafka trigger would hand
// it over from auction.item-complete, and returns the events to write to
// auction.notifications. The second delivery of the same batch sends nothing:
// every notification is found already sent.
func ExampleNotifier_Handle() {
	ctx := context.Background()
	dir := userdir.NewMemory()
	for _, u := range []userdir.User{
		{ID: "sam", Name: "Sam", Email: "sam@example.com"},
		{ID: "ada", Name: "Ada", Email: "ada@example.com"},
		{ID: "bob", Name: "Bob", Email: "bob@example.com"},
	} {
		_ = dir.Create(ctx, u)
	}
	n := notify.New(notify.Deps{
		Outbox:      notify.NewMemory(),
		Mailer:      printMailer{},
		Users:       dir,
		Concurrency: 1, // for the order of the output only
	})
	batch := []schemas.ItemCompleted{{
		ItemID: "item-1", SellerID: "sam", Title: "Brass telescope",
		Sold: true, WinnerID: "ada", Price: &schemas.Money{Amount: 125050, Currency: "EUR"},
		ReserveMet: true, BidCount: 3, Bidders: []string{"bob", "ada"},
		ClosedAt: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
	}}

	events, err := n.Handle(ctx, batch)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range events {
		fmt.Printf("%s: %s\n", ev.NotificationID, ev.Message)
	}

	fmt.Println("redelivered:")
	events, _ = n.Handle(ctx, batch)
	fmt.Println(len(events), "events, no email")
	// Output:
	// email to ada@example.com: "You won: Brass telescope" <item-1/ada/won@auction>
	// email to bob@example.com: "Auction closed: Brass telescope" <item-1/bob/lost@auction>
	// email to sam@example.com: "Sold: Brass telescope" <item-1/sam/sold@auction>
	// item-1/ada/won: You won the auction for "Brass telescope" with your bid of €1,250.50.
	// item-1/bob/lost: The auction for "Brass telescope" has closed and another bidder won it for €1,250.50.
	// item-1/sam/sold: Your item "Brass telescope" sold for €1,250.50.
	// redelivered:
	// 3 events, no email
}

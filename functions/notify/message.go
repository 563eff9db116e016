package notify

import (
	"fmt"

	"github.com/auctionflow/auction/schemas"
)

// message is the one-sentence text of a notification: what the inbox shows
// and what the email says.
func message(ic schemas.ItemCompleted, kind schemas.NotificationKind) string {
	title := `"` + ic.Title + `"`
	switch kind {
	case schemas.NotifyWon:
		return fmt.Sprintf("You won the auction for %s with your bid of %s.", title, price(ic.Price))
	case schemas.NotifyLost:
		if ic.Sold {
			return fmt.Sprintf("The auction for %s has closed and another bidder won it for %s.", title, price(ic.Price))
		}
		return fmt.Sprintf("The auction for %s has closed without a sale: %s.", title, whyUnsold(ic))
	case schemas.NotifySold:
		return fmt.Sprintf("Your item %s sold for %s.", title, price(ic.Price))
	case schemas.NotifyUnsold:
		return fmt.Sprintf("Your item %s did not sell: %s.", title, whyUnsold(ic))
	}
	return fmt.Sprintf("The auction for %s has closed.", title)
}

func whyUnsold(ic schemas.ItemCompleted) string {
	if ic.BidCount == 0 || len(ic.Bidders) == 0 {
		return "there were no bids"
	}
	return "the reserve price was not met"
}

// email is the subject and body of the email for n about ic, to a user
// called name (empty if the directory no longer knows them).
func email(ic schemas.ItemCompleted, n Notification, name string) (subject, body string) {
	switch n.Kind {
	case schemas.NotifyWon:
		subject = "You won: " + ic.Title
	case schemas.NotifySold:
		subject = "Sold: " + ic.Title
	case schemas.NotifyUnsold:
		subject = "Not sold: " + ic.Title
	default:
		subject = "Auction closed: " + ic.Title
	}
	greeting := "Hello,"
	if name != "" {
		greeting = "Hello " + name + ","
	}
	body = greeting + "\n\n" + n.Message + "\n\nItem: " + ic.ItemID + "\n"
	return subject, body
}

// price is an amount as people read it (schemas.Money.String: "€1,250.00",
// "¥1,500", "CHF 19.90"), the same as every refusal's detail.
func price(m *schemas.Money) string {
	if m == nil {
		return "an undisclosed price"
	}
	return m.String()
}

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

// subject is the subject of the email about ic that says kind.
func subject(ic schemas.ItemCompleted, kind schemas.NotificationKind) string {
	switch kind {
	case schemas.NotifyWon:
		return "You won: " + ic.Title
	case schemas.NotifySold:
		return "Sold: " + ic.Title
	case schemas.NotifyUnsold:
		return "Not sold: " + ic.Title
	}
	return "Auction closed: " + ic.Title
}

// outbidMessage is the notice to the bidder a overtook.
func outbidMessage(a schemas.BidAccepted) string {
	return fmt.Sprintf("Your bid of %s on %s has been outbid: the highest bid is now %s.",
		a.Outbid.Amount, itemName(a), a.Amount)
}

// itemName is how a notice about a's item names it: its title, quoted, or
// its id if the event carries no title.
func itemName(a schemas.BidAccepted) string {
	if a.Outbid != nil && a.Outbid.Title != "" {
		return `"` + a.Outbid.Title + `"`
	}
	return "item " + a.ItemID
}

// emailBody is the email for n, to a user called name (empty if the
// directory no longer knows them).
func emailBody(n Notification, name string) string {
	greeting := "Hello,"
	if name != "" {
		greeting = "Hello " + name + ","
	}
	return greeting + "\n\n" + n.Message + "\n\nItem: " + n.ItemID + "\n"
}

// price is an amount as people read it (schemas.Money.String: "€1,250.00",
// "¥1,500", "CHF 19.90"), the same as every refusal's detail.
func price(m *schemas.Money) string {
	if m == nil {
		return "an undisclosed price"
	}
	return m.String()
}

package notify

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"

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

// price formats an amount in minor units as the currency's major units, with
// the ISO code first: "EUR 1,250.00", "JPY 1,500". An unknown currency is
// shown in minor units, which is unusual but never wrong.
func price(m *schemas.Money) string {
	if m == nil {
		return "an undisclosed price"
	}
	unit, err := currency.ParseISO(m.Currency)
	if err != nil {
		return fmt.Sprintf("%s %s (minor units)", m.Currency, group(m.Amount))
	}
	scale, _ := currency.Standard.Rounding(unit)
	if scale == 0 {
		return m.Currency + " " + group(m.Amount)
	}
	div := int64(1)
	for range scale {
		div *= 10
	}
	sign, amount := "", m.Amount
	if amount < 0 {
		sign, amount = "-", -amount
	}
	return fmt.Sprintf("%s %s%s.%0*d", m.Currency, sign, group(amount/div), scale, amount%div)
}

// group writes n with a comma between groups of three digits.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

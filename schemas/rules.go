package schemas

import (
	"fmt"
	"time"
)

// The rules below are applied by more than one layer: the edge functions
// refuse what is plainly wrong before it reaches the log, the processor
// decides in log order, the gateway shows what they decided. Each rule is
// written here once, next to the reasons it gives, so that a bid the edge
// refuses and one the processor rejects for the same cause carry the same
// reason and the same words. They are pure: the caller brings the clock.

// Limits of the contract, as the JSON Schemas under jsonschema/ and the
// OpenAPI document state them (TestLimitsMatchSchemas keeps them equal).
const (
	// MaxAmount is the largest amount of money, in minor units: 2^53-1,
	// the largest integer every JSON reader (JavaScript's included)
	// decodes exactly.
	MaxAmount = 1<<53 - 1
	// MaxIDLength is the longest id, in characters.
	MaxIDLength = 128
	// MaxTitleLength is the longest item title, in characters once
	// surrounding whitespace is trimmed; a title has at least one.
	MaxTitleLength = 120
	// MaxDescriptionLength is the longest item description, in characters.
	MaxDescriptionLength = 4000
	// MaxCategoryLength is the longest category slug.
	MaxCategoryLength = 40
)

// Limits of an auction's duration, from when the edge accepts the item.
const (
	MinDuration = 10 * time.Second
	MaxDuration = 30 * 24 * time.Hour
)

// Limits of a soft close (SoftClose): its window, and how far past the end
// first set the extensions may take an auction.
const (
	MinSoftCloseWindow    = 10 * time.Second
	MaxSoftCloseWindow    = time.Hour
	MaxSoftCloseExtension = 24 * time.Hour
	// DefaultSoftCloseExtension is the cap when the seller names none.
	DefaultSoftCloseExtension = time.Hour
)

// SoftCloseFault is what is wrong with sc, or "" if nothing is: a window of
// MinSoftCloseWindow to MaxSoftCloseWindow, and a cap of at least one
// window and at most MaxSoftCloseExtension.
func SoftCloseFault(sc SoftClose) string {
	// In whole seconds: a Duration of a huge count would overflow.
	w, m := sc.WindowSeconds, sc.MaxExtensionSeconds
	switch {
	case w < int(MinSoftCloseWindow/time.Second) || w > int(MaxSoftCloseWindow/time.Second):
		return fmt.Sprintf("the soft close window must be %d to %d seconds", int(MinSoftCloseWindow/time.Second), int(MaxSoftCloseWindow/time.Second))
	case m < w || m > int(MaxSoftCloseExtension/time.Second):
		return fmt.Sprintf("the soft close may extend the auction by one window to %d seconds", int(MaxSoftCloseExtension/time.Second))
	}
	return ""
}

// SoftCloseEnd is when an auction placed to end at placedEnd, ending now
// at endsAt, ends once a bid placed at placedAt is accepted, and whether
// that bid moved it. With a soft close (sc not nil), a bid placed in the
// last window before endsAt moves the end one window later, but never
// past placedEnd plus the cap: a chain of late bids extends the auction
// window by window until the bidding stops or the cap is reached. Without
// one, the end stays where it is.
func SoftCloseEnd(sc *SoftClose, placedEnd, endsAt, placedAt time.Time) (time.Time, bool) {
	if sc == nil {
		return endsAt, false
	}
	window := time.Duration(sc.WindowSeconds) * time.Second
	if placedAt.Before(endsAt.Add(-window)) || !placedAt.Before(endsAt) {
		return endsAt, false
	}
	next := endsAt.Add(window)
	if last := LatestEnd(sc, placedEnd); next.After(last) {
		next = last
	}
	return next, next.After(endsAt)
}

// LatestEnd is the latest an auction placed to end at placedEnd can end:
// placedEnd itself without a soft close, placedEnd plus the cap with one.
func LatestEnd(sc *SoftClose, placedEnd time.Time) time.Time {
	if sc == nil {
		return placedEnd
	}
	return placedEnd.Add(time.Duration(sc.MaxExtensionSeconds) * time.Second)
}

// ValidCategory reports whether c is a category slug: 1 to
// MaxCategoryLength lowercase letters, digits or '-'.
func ValidCategory(c string) bool {
	if len(c) < 1 || len(c) > MaxCategoryLength {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// TextFault reports the first character that text people read (a title, a
// description, a name, an address) may not hold, and whether there is one:
// a control character other than tab, line feed and carriage return (NUL
// among them, and the C1 controls), or one of Unicode's bidirectional
// embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069),
// which make text display as other text, a title that reads backwards.
// The OpenAPI document's Text schema is the same rule as a pattern
// (TestTextRuleMatchesSchema).
func TextFault(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0x7F && r <= 0x9F,
			r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return r, true
		}
	}
	return 0, false
}

// MinIncrement is how much a bid must beat the highest by, for an item
// starting at startingPrice: 1 % of it, at least one minor unit (zero would
// let equal bids leapfrog each other).
func MinIncrement(startingPrice int64) int64 { return max(1, startingPrice/100) }

// ReserveMet reports whether the highest bid (nil: none yet) meets the
// reserve (nil: the item has none). An item whose reserve is not met at
// the close is unsold.
func ReserveMet(reserve, highest *Money) bool {
	return reserve == nil || (highest != nil && highest.Amount >= reserve.Amount)
}

// BidTiming is why a bid placed (stamped at the edge) at placedAt on an
// auction that ends at endsAt cannot count, or "" if it still can:
//
//   - too_late: it was placed at or after endsAt. That is the bidder's
//     lateness, and it is known from the stamp alone, so every layer gives
//     it whether or not the auction has closed yet: the edge, stamping a
//     bid after endsAt, and the processor, whether the bid reaches it
//     within the grace period or after the close;
//   - auction_closed: it was placed in time, but the auction closed
//     (closed is true) before the bid was decided: it reached auction.bids
//     after the close-due, when the grace period was over.
func BidTiming(placedAt, endsAt time.Time, closed bool) (RejectReason, string) {
	switch {
	case !placedAt.Before(endsAt):
		return ReasonTooLate, fmt.Sprintf("placed at %s, the auction ended at %s",
			placedAt.UTC().Format(time.RFC3339Nano), endsAt.UTC().Format(time.RFC3339Nano))
	case closed:
		return ReasonAuctionClosed, "the auction closed before the bid was decided"
	}
	return "", ""
}

// BidOwnItem is why bidderID may not bid on an item sold by sellerID, or ""
// if they may: nobody drives up the price of their own item.
func BidOwnItem(bidderID, sellerID string) (RejectReason, string) {
	if bidderID == sellerID {
		return ReasonOwnItem, "sellers cannot bid on their own items"
	}
	return "", ""
}

// IsRejectReason reports whether code is one of the reject reasons: the
// auction's rules refusing a bid, as opposed to a field of a request that
// breaks the contract.
func IsRejectReason(code string) bool {
	for _, r := range RejectReasons() {
		if string(r) == code {
			return true
		}
	}
	return false
}

package schemas

import (
	"fmt"
	"strconv"
	"time"
)

// Source is the CloudEvents source attribute of events the platform produces;
// each producer appends its component name (e.g. "/auction/edge/items").
const Source = "/auction"

// Event types. The version suffix changes only on a breaking change of the
// data's schema; a consumer switches on the whole string.
const (
	TypeItemPlaced       = "auction.item.placed.v1"
	TypeBidPlaced        = "auction.bid.placed.v1"
	TypeCloseDue         = "auction.item.close-due.v1"
	TypeItemExtended     = "auction.item.extended.v1"
	TypeBidAccepted      = "auction.bid.accepted.v1"
	TypeBidRejected      = "auction.bid.rejected.v1"
	TypeItemCompleted    = "auction.item.completed.v1"
	TypeNotificationSent = "auction.notification.sent.v1"
	TypeAnalyticsCounted = "auction.analytics.counted.v1"
	TypeEventRejected    = "auction.event.rejected.v1"
)

// Types lists every event type with a schema, in flow order.
func Types() []string {
	return []string{TypeItemPlaced, TypeBidPlaced, TypeCloseDue, TypeItemExtended, TypeBidAccepted,
		TypeBidRejected, TypeItemCompleted, TypeNotificationSent, TypeAnalyticsCounted, TypeEventRejected}
}

// DataSchema is the dataschema attribute for an event type: the URI path of
// its JSON Schema, also the file name under jsonschema/.
func DataSchema(eventType string) string {
	return "https://auctionflow.dev/schemas/" + eventType + ".json"
}

// Money is an amount in minor units (cents for EUR) of an ISO 4217 currency.
// Integers, never floats: money must add up exactly.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// String is the amount as people read it, in the currency's major unit:
// €62.00, £1,250.00, ¥5,000, CHF 19.90 (a code where the symbol alone would
// be ambiguous or is not well known). Details of refusals use it; the
// amount itself travels as minor units beside them.
func (m Money) String() string {
	digits := MinorDigits(m.Currency)
	unit := int64(1)
	for range digits {
		unit *= 10
	}
	sign, abs := "", m.Amount
	if abs < 0 {
		sign, abs = "-", -abs
	}
	num := grouped(abs / unit)
	if digits > 0 {
		num += fmt.Sprintf(".%0*d", digits, abs%unit)
	}
	if sym, ok := currencySymbols[m.Currency]; ok {
		return sign + sym + num
	}
	return sign + m.Currency + " " + num
}

// grouped writes n with a comma between each group of three digits.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Party is a user as the edge enriched it from the user directory at the time
// of the event: a snapshot, not a reference.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Location is a coarse cell derived from the address ("GB-LON"), enough
	// for analytics and never the address itself.
	Location string `json:"location,omitempty"`
}

// ItemPlaced: a seller put an item up for auction. Topic auction.items.
type ItemPlaced struct {
	ItemID        string    `json:"itemId"`
	Seller        Party     `json:"seller"`
	Title         string    `json:"title"`
	Description   string    `json:"description,omitempty"`
	Category      string    `json:"category"`
	StartingPrice Money     `json:"startingPrice"`
	ReservePrice  *Money    `json:"reservePrice,omitempty"`
	MinIncrement  Money     `json:"minIncrement"`
	EndsAt        time.Time `json:"endsAt"`
	PlacedAt      time.Time `json:"placedAt"`
	// SoftClose, if set, lets late bids extend the auction (anti-sniping).
	SoftClose *SoftClose `json:"softClose,omitempty"`
}

// SoftClose is an item's opt-in to a soft close: a bid accepted in the
// last WindowSeconds before the end moves the end WindowSeconds later, to
// at most MaxExtensionSeconds past the end the item was placed with (see
// SoftCloseEnd).
type SoftClose struct {
	WindowSeconds       int `json:"windowSeconds"`
	MaxExtensionSeconds int `json:"maxExtensionSeconds"`
}

// BidPlaced: a bidder offered an amount for an item. PlacedAt is the event
// time, stamped at the edge; the processor judges lateness by it, not by when
// the bid happens to arrive. Topic auction.bids.
type BidPlaced struct {
	BidID    string    `json:"bidId"`
	ItemID   string    `json:"itemId"`
	Bidder   Party     `json:"bidder"`
	Amount   Money     `json:"amount"`
	PlacedAt time.Time `json:"placedAt"`
}

// CloseDue tells the processor an auction's closing time has come
// (EndsAt plus the grace period for late-arriving bids). Delivering it twice
// is harmless. Topic auction.bids, in the partition of the item's bids, so
// that it comes after every bid written before it.
type CloseDue struct {
	ItemID  string    `json:"itemId"`
	EndsAt  time.Time `json:"endsAt"`
	CloseAt time.Time `json:"closeAt"`
}

// ItemExtended: a bid accepted in an item's soft close window moved its
// end. The processor writes it to auction.items, keyed by item id, for the
// closer, which closes the auction at the new end instead.
type ItemExtended struct {
	ItemID string    `json:"itemId"`
	EndsAt time.Time `json:"endsAt"`
	// BidID is the bid that moved it.
	BidID string `json:"bidId"`
}

// BidAccepted: the processor made this bid the highest. Topic auction.bid-results.
type BidAccepted struct {
	BidID     string    `json:"bidId"`
	ItemID    string    `json:"itemId"`
	BidderID  string    `json:"bidderId"`
	Amount    Money     `json:"amount"`
	PlacedAt  time.Time `json:"placedAt"`
	DecidedAt time.Time `json:"decidedAt"`
	BidCount  int       `json:"bidCount"`
	// Outbid is the highest bid this one overtook, when another bidder
	// placed it: that bidder has been outbid. Nil for the first accepted bid
	// and for a bidder raising their own.
	Outbid *Outbid `json:"outbid,omitempty"`
	// EndsAt, if set, is the auction's new end: the bid came within its
	// soft close window and extended it.
	EndsAt time.Time `json:"endsAt,omitzero"`
}

// Outbid is an overtaken bid, as an accepted bid's verdict names it.
type Outbid struct {
	BidID    string `json:"bidId"`
	BidderID string `json:"bidderId"`
	Amount   Money  `json:"amount"`
	// Title is the item's title, so that the notice to the outbid bidder
	// can name it. The verdicts the processor keeps leave it out.
	Title string `json:"title,omitempty"`
}

// RejectReason says why a bid lost before it could win.
type RejectReason string

const (
	ReasonUnknownItem      RejectReason = "unknown_item"
	ReasonAuctionClosed    RejectReason = "auction_closed"
	ReasonTooLate          RejectReason = "too_late"
	ReasonOwnItem          RejectReason = "own_item"
	ReasonCurrencyMismatch RejectReason = "currency_mismatch"
	ReasonBelowStart       RejectReason = "below_starting_price"
	ReasonBelowIncrement   RejectReason = "below_minimum_increment"
)

// RejectReasons lists every reason code, as the JSON Schema enumerates them.
func RejectReasons() []RejectReason {
	return []RejectReason{ReasonUnknownItem, ReasonAuctionClosed, ReasonTooLate,
		ReasonOwnItem, ReasonCurrencyMismatch, ReasonBelowStart, ReasonBelowIncrement}
}

// BidRejected: the processor refused a bid. A rejection is an event, not an
// error. Topic auction.bid-results.
type BidRejected struct {
	BidID     string       `json:"bidId"`
	ItemID    string       `json:"itemId"`
	BidderID  string       `json:"bidderId"`
	Amount    Money        `json:"amount"`
	Reason    RejectReason `json:"reason"`
	Detail    string       `json:"detail,omitempty"`
	PlacedAt  time.Time    `json:"placedAt"`
	DecidedAt time.Time    `json:"decidedAt"`
}

// ItemCompleted: an auction closed. Exactly one per item. Topic
// auction.item-complete.
type ItemCompleted struct {
	ItemID     string    `json:"itemId"`
	SellerID   string    `json:"sellerId"`
	Title      string    `json:"title"`
	Category   string    `json:"category"`
	Sold       bool      `json:"sold"`
	WinnerID   string    `json:"winnerId,omitempty"`
	Price      *Money    `json:"price,omitempty"`
	ReserveMet bool      `json:"reserveMet"`
	BidCount   int       `json:"bidCount"`
	Bidders    []string  `json:"bidders"`
	EndsAt     time.Time `json:"endsAt"`
	ClosedAt   time.Time `json:"closedAt"`
}

// NotificationKind is what a notification tells its user.
type NotificationKind string

const (
	NotifyWon    NotificationKind = "won"
	NotifyLost   NotificationKind = "lost"
	NotifySold   NotificationKind = "sold"
	NotifyUnsold NotificationKind = "unsold"
	NotifyOutbid NotificationKind = "outbid"
)

// NotificationSent: a user was told about an auction. Topic
// auction.notifications.
type NotificationSent struct {
	NotificationID string           `json:"notificationId"`
	UserID         string           `json:"userId"`
	ItemID         string           `json:"itemId"`
	Kind           NotificationKind `json:"kind"`
	Channels       []string         `json:"channels"`
	Message        string           `json:"message"`
	SentAt         time.Time        `json:"sentAt"`
}

// AnalyticsCounted says the analytics function has counted a completed
// auction in its aggregates: the last step of an auction's lineage.
// Counting is idempotent, so a redelivered completion yields the same event
// (same id) again.
type AnalyticsCounted struct {
	ItemID   string `json:"itemId"`
	Category string `json:"category"`
	Sold     bool   `json:"sold"`
	// Price is what the item sold for; absent when it did not sell.
	Price     *Money    `json:"price,omitempty"`
	CountedAt time.Time `json:"countedAt"`
}

// FieldError is one reason a request or event was refused.
type FieldError struct {
	// Field is a JSON pointer into the refused payload ("" for the whole).
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// EventRejected records what the edge refused and why, so a refusal is a
// fact in the log like everything else. Topic auction.rejected.
type EventRejected struct {
	// Kind is what was refused: "item" or "bid".
	Kind       string       `json:"kind"`
	SubjectID  string       `json:"subjectId,omitempty"`
	UserID     string       `json:"userId,omitempty"`
	Reasons    []FieldError `json:"reasons"`
	RejectedAt time.Time    `json:"rejectedAt"`
}

// Dead-letter headers. A record on auction.dead-letter keeps the original
// key, value and headers, and adds these so an operator can find its origin
// and replay it.
const (
	HeaderDLQTopic     = "dlq-origin-topic"
	HeaderDLQPartition = "dlq-origin-partition"
	HeaderDLQOffset    = "dlq-origin-offset"
	HeaderDLQError     = "dlq-error"
	HeaderDLQAttempts  = "dlq-attempts"
	HeaderDLQConsumer  = "dlq-consumer"
	HeaderDLQTime      = "dlq-time"
)

// DeadLetter describes why a record was dead-lettered and where it came from.
// It travels as headers (see HeaderDLQ*), not as a payload, so the original
// bytes stay untouched.
type DeadLetter struct {
	Topic     string
	Partition int32
	Offset    int64
	Error     string
	Attempts  int
	// Consumer names the component that gave up (a goka group or function).
	Consumer string
	At       time.Time
}

// Bid statuses in BidStatus.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRejected = "rejected"
)

// BidStatus is the latest word on one bid, keyed by bid id on the compacted
// topic auction.bid-status: a table, not an event, so any client can look a
// bid up by its id alone. The processor writes it with every verdict, and
// "pending" when it holds a bid that came before its item.
type BidStatus struct {
	BidID     string       `json:"bidId"`
	ItemID    string       `json:"itemId"`
	BidderID  string       `json:"bidderId"`
	Amount    Money        `json:"amount"`
	Status    string       `json:"status"`
	Reason    RejectReason `json:"reason,omitempty"`
	Detail    string       `json:"detail,omitempty"`
	UpdatedAt time.Time    `json:"updatedAt"`
	// PlacedAt, DecidedAt and BidCount (accepted bids only) complete the
	// verdict of a decided bid, so the processor can emit the same verdict
	// event again from this record alone when the bid is redelivered long
	// after its auction's state forgot it.
	PlacedAt  time.Time `json:"placedAt,omitzero"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	BidCount  int       `json:"bidCount,omitempty"`
	// Offset is where in its partition of auction.bids the record lies
	// whose decision this is, so the processor can tell that record met
	// again (after a crash that lost its table write) from another record
	// of the same bid.
	Offset int64 `json:"offset,omitempty"`
	// Outbid (accepted bids only) is BidAccepted.Outbid, less the title,
	// and EndsAt is BidAccepted.EndsAt.
	Outbid *Outbid   `json:"outbid,omitempty"`
	EndsAt time.Time `json:"endsAt,omitzero"`
}

package schemas

import "slices"

// Topic names. Kafka topic names cannot contain '/', so the article's
// /auction/items is auction.items, and so on.
const (
	TopicItems         = "auction.items"
	TopicBids          = "auction.bids"
	TopicBidResults    = "auction.bid-results"
	TopicItemComplete  = "auction.item-complete"
	TopicNotifications = "auction.notifications"
	TopicAnalytics     = "auction.analytics"
	TopicRejected      = "auction.rejected"
	TopicBidStatus     = "auction.bid-status"
	TopicDeadLetter    = "auction.dead-letter"

	// GroupAuction is the goka processor group that joins items and bids.
	// goka names its state topic after the group: "<group>-table".
	GroupAuction      = "auction"
	TopicAuctionTable = GroupAuction + "-table"
)

// Cleanup policies.
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

// DefaultPartitions is the partition count of every auction topic unless
// configured otherwise. All topics keyed by item id must share one count:
// the goka processor joins them partition by partition (co-partitioning).
const DefaultPartitions = 6

// Topic describes one topic of the flow: what infra creates and what code
// reads and writes.
type Topic struct {
	Name string
	// Key names what the record key holds.
	Key string
	// CoPartitioned topics must have exactly the same partition count.
	CoPartitioned bool
	CleanupPolicy string
	// KeepForever disables time-based retention: the closer re-reads open
	// auctions' items after a restart, however old they are.
	KeepForever bool
	// EventTypes are the CloudEvents types written to the topic.
	EventTypes []string
	Doc        string
}

// Catalog lists every topic of the platform, in flow order.
func Catalog() []Topic {
	return []Topic{
		{Name: TopicItems, Key: "item id", CoPartitioned: true, CleanupPolicy: CleanupDelete, KeepForever: true,
			EventTypes: []string{TypeItemPlaced, TypeItemExtended}, Doc: "validated, enriched items from the edge, and the processor's soft close extensions"},
		// The closer writes its close-dues here, into the partition of the
		// item's bids: the processor then meets a close after every bid
		// written before it (log order is decision order).
		{Name: TopicBids, Key: "item id", CoPartitioned: true, CleanupPolicy: CleanupDelete,
			EventTypes: []string{TypeBidPlaced, TypeCloseDue}, Doc: "validated, enriched bids from the edge, and the closer's close-dues in line with them"},
		{Name: TopicAuctionTable, Key: "item id", CoPartitioned: true, CleanupPolicy: CleanupCompact,
			Doc: "the goka group table: each auction's state (internal to the processor)"},
		{Name: TopicBidResults, Key: "item id", CoPartitioned: true, CleanupPolicy: CleanupDelete,
			EventTypes: []string{TypeBidAccepted, TypeBidRejected}, Doc: "the processor's verdict on every bid"},
		{Name: TopicBidStatus, Key: "bid id", CleanupPolicy: CleanupCompact,
			Doc: "the latest status of every bid (a table: BidStatus records, not events)"},
		{Name: TopicItemComplete, Key: "item id", CoPartitioned: true, CleanupPolicy: CleanupDelete,
			EventTypes: []string{TypeItemCompleted}, Doc: "one event per auction when it closes"},
		{Name: TopicNotifications, Key: "user id", CleanupPolicy: CleanupDelete,
			EventTypes: []string{TypeNotificationSent}, Doc: "notifications delivered to users"},
		{Name: TopicAnalytics, Key: "item id", CoPartitioned: true, CleanupPolicy: CleanupDelete,
			EventTypes: []string{TypeAnalyticsCounted}, Doc: "completed auctions counted by analytics"},
		{Name: TopicRejected, Key: "subject", CleanupPolicy: CleanupDelete,
			EventTypes: []string{TypeEventRejected}, Doc: "requests the edge refused, with every reason"},
		{Name: TopicDeadLetter, Key: "original key", CleanupPolicy: CleanupDelete,
			Doc: "records a consumer could not process, with origin headers (see DeadLetter)"},
	}
}

// TopicOf is the topic of the catalog that carries events of eventType:
// each type travels on one topic.
func TopicOf(eventType string) (string, bool) {
	for _, t := range Catalog() {
		if slices.Contains(t.EventTypes, eventType) {
			return t.Name, true
		}
	}
	return "", false
}

// LookupTopic returns the catalog entry for name.
func LookupTopic(name string) (Topic, bool) {
	for _, t := range Catalog() {
		if t.Name == name {
			return t, true
		}
	}
	return Topic{}, false
}

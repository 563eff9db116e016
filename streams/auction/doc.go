// Package auction is the stateful heart of the platform: a goka processor
// group that joins items and bids per item id and keeps each auction's state
// in its group table.
//
// In: auction.items, auction.bids, auction.control (all keyed by item id and
// co-partitioned). Out: auction.bid-results, auction.item-complete, and
// auction.dead-letter for records it cannot read. State: the "auction" group
// table (topic auction-table), one row per item, read by views for queries.
// Lookup: auction.bid-status (keyed by bid id), which it also writes.
//
// The callback is thin: it decodes the CloudEvent, hands it with the current
// state and the time to Decide, a pure function, and writes back what Decide
// returns. Everything worth testing lives in Decide.
//
// A bid is decided once. A row keeps the verdicts of its item's last
// RecentVerdicts bids, which covers the redeliveries a crash or a rebalance
// causes, and stays small however many bids the item gets; for an older bid
// the callback looks up its status in auction.bid-status and hands Decide
// that verdict to emit again. A duplicate that arrives after RecentVerdicts
// newer bids on its item and before its status reached the lookup table
// (milliseconds after the decision) would be decided again.
package auction

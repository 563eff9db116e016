// Package auction is the stateful heart of the platform: a goka processor
// group that joins items and bids per item id and keeps each auction's state
// in its group table.
//
// In: auction.items, auction.bids, auction.control (all keyed by item id and
// co-partitioned). Out: auction.bid-results, auction.item-complete, and
// auction.dead-letter for records it cannot read. State: the "auction" group
// table (topic auction-table), one row per item, read by views for queries.
//
// The callback is thin: it decodes the CloudEvent, hands it with the current
// state and the time to Decide, a pure function, and writes back what Decide
// returns. Everything worth testing lives in Decide.
package auction

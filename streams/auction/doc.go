// Package auction is the stateful heart of the platform: a goka processor
// group that joins items and bids per item id and keeps each auction's state
// in its group table.
//
// In: auction.items, and auction.bids, which also carries the closer's
// close-dues (both keyed by item id and co-partitioned). Out: auction.bid-results, auction.item-complete, and
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
// newer bids on its item and before its status reached the processor's view
// (milliseconds after the decision) would be decided again.
//
// # Log order is decision order
//
// A close-due travels in the partition of auction.bids that holds its
// item's bids, not on a topic of its own: goka reads input topics with no
// order between them, and a close-due read from another topic could
// overtake bids that were acknowledged before it was even written (seen
// after a broker restart, while the processor caught up: the auction went
// to the wrong bidder). In one partition the processor meets every bid
// written before the close-due first, whatever its lag, restarts or
// rebalances. The grace period keeps its meaning: a bid stamped before
// endsAt counts if it reaches auction.bids before the close-due does.
//
// A crash can lose the row's table write after a verdict went out: the row
// then lacks the bid, and the bid's status says it was decided. Each row
// keeps the offset of the last auction.bids record it applied (Applied),
// and each status the offset of the record it decided, so the bid met again
// at that offset, past Applied, is decided again on the same state (to the
// same verdict) and applied, while a duplicate record stays a duplicate.
//
// The opposite also happens: the local store has the row, the table topic
// does not (its write failed in a leader failover, or a crash cut it
// short). Two things keep the topic whole. The processor commits an input
// only once every input before it on its partition is done
// (kafkaio.InOrderCommits; goka's own marks finish in any order, and one
// record's commit could pass another whose write failed), so such a record
// is read again; and a record the row has already applied, read again,
// writes the row again unchanged (Write), since nothing else would.
//
// An auction completes once. The row remembers the offset of the close-due
// that closed it; that record delivered again (a crash after the table
// write, before the completion was acknowledged) emits the completion
// again, with the same event id, and any other close-due emits nothing.
package auction

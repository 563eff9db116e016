// Package closer is the closer function of the platform: it reads every item
// placed and, when an auction's endsAt plus a grace period has come, tells the
// auction processor (streams/auction) to close it.
//
// In: auction.items, in consumer group "auction-closer": the items placed,
// and the processor's soft close extensions (auction.item.extended.v1), each
// a later end for an item. Out: auction.bids, one close-due per end (keyed
// by item id, event id "<itemId>.close-due" for the end an item was placed
// with and "<itemId>.close-due@<end>" for each it was moved to, source
// "/auction/functions/closer"), and auction.dead-letter for records on
// auction.items it cannot read. The processor closes the auction on the
// close-due of the end it has; one of an end it moved on from does nothing.
//
// The close-due goes into the item's partition of auction.bids, after every
// bid already written there, because the processor decides in log order
// within a partition and in no order across topics (see streams/auction).
//
// # Scheduling
//
// Each instance keeps, for every partition assigned to it, a min-heap of the
// items it has read, ordered by closeAt = endsAt + Grace. One timer waits for
// the earliest closeAt of all its partitions and is re-armed when an item due
// earlier arrives; nothing polls the clock. An item whose closeAt is already
// past when it is read (after downtime, or while catching up) is emitted at
// once. Due items are written in batches, and a close-due counts as done only
// once the broker has acknowledged it (acks=all, idempotent producer).
//
// The grace period exists because bids are judged by the time the edge
// stamped them: a bid stamped just before endsAt may still be on its way to
// the processor, and it must arrive before the close to count.
//
// # The low watermark commit
//
// The schedule lives in memory only, so the committed offset must be enough to
// rebuild it. The closer commits, per partition, the offset of the earliest
// item (in offset order) whose close-due is not yet acknowledged, or the
// offset after the last record read when nothing is pending. Whoever reads the
// partition next, after a crash, a restart or a rebalance, starts there: every
// auction still open is read and scheduled again, and no close is lost.
//
// The price is duplicates. Items after the watermark that were closed already
// are read again and, their closeAt being past, emitted again at once. That
// is harmless: the processor emits nothing for a close-due of an auction already
// closed (and one for another endsAt, or one that comes before endsAt), and a
// repeated close-due has the same event id. How far back a restart reads is
// bounded by the oldest open auction in the partition, not by its history.
// It follows that auction.items must retain records for longer than the
// longest auction runs: an item deleted by retention before its close cannot
// be read again, and a restart would never close it.
//
// Offsets are committed explicitly (enable.auto.commit=false): at most once a
// second while the watermarks move, when partitions are revoked, and on
// shutdown. Committing less often only means reading more again.
//
// # Rebalances
//
// Partitions are assigned with the cooperative-sticky strategy. When an
// instance joins or leaves, only the partitions that move are revoked; the
// others keep their schedules and timers. With an eager strategy such as
// range, every rebalance would revoke everything, and every instance would
// read every open auction again. On revoke, the closer commits the
// partition's low watermark and drops its schedule; on assign it does
// nothing, because reading from the committed offset rebuilds the schedule.
// Instances in one group split the partitions between them. Should two ever
// hold the same partition (an instance that lost its assignment without
// noticing yet), the only effect is duplicate close-dues.
//
// # Why not a goka visitor
//
// The processor's table already holds every auction's endsAt, and goka can
// visit all of a table's rows on a timer. But each visit walks the whole
// table, every auction ever placed, closed ones included: O(all auctions) per
// tick, and the tick bounds how late a close may come. The closer holds only
// open auctions, in closeAt order, and wakes exactly when the next one is
// due. It keeps no state in Kafka (no table, no changelog) beyond its
// committed offsets, which is what lets it be a function at the edge of the
// stream rather than part of the processor.
package closer

// Package analytics is the out-of-band analytics function of the platform: it
// reads every completed auction and keeps what the business asks of them,
// overall and per category — auctions completed, sold and unsold, the
// sell-through rate, gross volume and average and maximum price per currency,
// bids per auction and unique bidders — plus the completed auctions
// themselves ("facts") for ad hoc questions such as "who bid in cameras last
// week?" (Store.Bidders).
//
// In: auction.item-complete (schemas.ItemCompleted), through a trigger that
// calls Handle with a batch of one partition's events. Out: nothing on Kafka;
// the results live in a Store (Memory in the embedded mode, Dynamo on
// DynamoDB otherwise) that the gateway reads. Being out of band, it may lag
// the auction by a batch or a retry, and nobody waits for it.
//
// # Counting once without transactions
//
// The trigger delivers at least once: after a crash or a failed batch,
// events come again, and two instances may briefly hold one partition. Every
// write is therefore idempotent per item id. DynamoDB's TransactWriteItems
// would make the several writes of one event all-or-nothing, but dynalite,
// which the tests run against, lacks it; and it is not needed, because each
// write is made safe to repeat on its own. The table (hash key pk, range key
// sk) holds:
//
//	pk "item#<itemId>"         sk "claim"                 the category and endsAt the item is counted under
//	pk "fact#<category>"       sk "<endsAt>#<itemId>"     the fact: bidders, price, seller, winner, ...
//	pk "agg#all"               sk "<yyyy-mm-dd>"          the day bucket over all categories
//	pk "agg#cat#<category>"    sk "<yyyy-mm-dd>"          the day bucket of one category
//
// endsAt in keys is UTC with all nine fraction digits, so keys sort as
// instants; days are UTC days of endsAt. Apply writes, in this order:
//
//  1. the claim, put if absent. If it exists with the same category and
//     endsAt, this is a redelivery and Apply goes on; if not, it is
//     ErrConflict. The claim is what makes Apply idempotent per item id and
//     not just per key: without it an event repeated with another category
//     would be counted again in that category's buckets.
//  2. the fact, put if absent. Facts are the source of truth of the ad hoc
//     queries: Bidders is one Query between two sort keys.
//  3. for the "all" bucket and then the category's bucket of the fact's day:
//     a. one UpdateItem that ADDs the counters (completed, sold, bids),
//     the price to "vol:<currency>" and 1 to "cnt:<currency>", the bidders
//     to the "bidders" string set and the item id to the "applied" string
//     set, on condition NOT contains(applied, :itemId). A single-item
//     update is atomic, so the counters and the mark that they were added
//     change together or not at all: however often, and however
//     concurrently, an event comes, it is added once.
//     b. for a sale, SET "max:<currency>" to the price on condition that it
//     is absent or lower. A maximum is idempotent by nature and needs no
//     mark.
//
// A failed condition in any step means "done before" and is not an error,
// and Apply never stops early because a step was done: it always runs every
// step, because a redelivery may be the one that finishes the work of a
// delivery that crashed.
//
// Summary reads the scope's day buckets (a Query over a range of days),
// sums the counters and volumes, unions the bidder sets, takes the largest
// maximum and derives the ratios. Bucketing by day bounds how large an item's
// applied and bidders sets grow, and is why Summary's period is whole UTC
// days: its bounds must be midnight UTC. Bidders reads facts and so takes any
// instants. Both take [from, to): from inclusive, to exclusive, a zero bound
// open.
//
// # Crash windows
//
// A crash (or an error) between two steps leaves a partial result until the
// event is delivered again, which the trigger guarantees for an event whose
// offset it has not committed. No window can count anything twice; each can
// show an event partly:
//
//   - after the claim, before the fact: the auction is missing everywhere;
//   - after the fact, before the buckets: Bidders shows it, Summary does not;
//   - after the "all" bucket, before the category's: the overall summary
//     counts it and the category's does not, so the categories do not add up
//     to the total;
//   - after a bucket's counters, before its maximum: the volume and average
//     include the sale but the maximum may be too low.
//
// The redelivery repeats every step; the done ones are refused by their
// conditions and the missing ones are made. An event that is dead-lettered
// instead leaves its partial result until an operator replays it. Memory
// applies a fact atomically and has none of these windows.
//
// # Limits
//
// A DynamoDB item holds at most 400 KB, and a day bucket holds the ids of its
// day's auctions and bidders: with ids of about 30 bytes, some 10,000
// auctions per scope and day. Beyond that the update fails, loudly (it is
// retried and then dead-lettered, never silently dropped). The way out is
// smaller buckets (hours) or several buckets per day chosen by a hash of the
// item id, merged by Summary like days are; the guard stays the same because
// an item always maps to the same bucket. Summary reads whole buckets,
// applied sets included, so its cost grows with the number of auctions in
// the period.
package analytics

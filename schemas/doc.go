// Package schemas holds the platform's contracts: the event types that flow
// through Kafka, the topic catalog, the JSON Schema of every event, and the
// CloudEvents envelope that carries them. Every component imports it; it
// imports nothing of the project, so people writing consumers in other
// languages can read the contracts here (and in jsonschema/) on their own.
//
// The flow it describes:
//
//	HTTP → edge functions → auction.items, auction.bids
//	closer → auction.bids (close-due, in line with the item's bids)
//	goka processor → auction.bid-results, auction.item-complete
//	out-of-band functions → auction.notifications
//	anything rejected → auction.rejected; anything undeliverable → auction.dead-letter
//
// # Changing an event
//
// Every reader validates with the schemas it was built with, and they
// refuse members they do not name, so a change reaches readers first: a
// new member is added as optional, every reader of the type is upgraded,
// and only then its writer. Removing or retyping a member takes a new type
// (a new ".vN").
package schemas

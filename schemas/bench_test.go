package schemas_test

import (
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// benchBid is a bid-placed event as the edge builds it.
func benchBid() (schemas.Meta, schemas.BidPlaced) {
	now := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	bid := schemas.BidPlaced{
		BidID: "01a215d9-5045-785a-8dab-7b47f44a5d63", ItemID: "01a215d9-5041-7ba0-b39e-24b7b7215bda",
		Bidder: schemas.Party{ID: "u-01a215d7-1b34-77a6-89ad-cea363a9c5a2", Name: "Bob Baker", Location: "FR-PAR"},
		Amount: schemas.Money{Amount: 5500, Currency: "EUR"}, PlacedAt: now,
	}
	return schemas.Meta{ID: bid.BidID, Source: schemas.Source + "/functions/placebid", Subject: bid.ItemID, Time: now}, bid
}

// BenchmarkEncodeBid builds a bid's CloudEvent and encodes it as a Kafka
// record (binary content mode): what the edge does per bid.
func BenchmarkEncodeBid(b *testing.B) {
	meta, bid := benchBid()
	b.ReportAllocs()
	for b.Loop() {
		e, err := schemas.NewEvent(schemas.TypeBidPlaced, meta, bid)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cekafka.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBid decodes a bid record back into its data: what the
// processor does per bid before deciding.
func BenchmarkDecodeBid(b *testing.B) {
	meta, bid := benchBid()
	e, err := schemas.NewEvent(schemas.TypeBidPlaced, meta, bid)
	if err != nil {
		b.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(m.Value)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := cekafka.Decode(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := schemas.Data[schemas.BidPlaced](e, schemas.TypeBidPlaced); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateBid checks a bid's data against its JSON Schema, which
// the edge does on the way out and the processor on the way in.
func BenchmarkValidateBid(b *testing.B) {
	v, err := schemas.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	meta, bid := benchBid()
	e, err := schemas.NewEvent(schemas.TypeBidPlaced, meta, bid)
	if err != nil {
		b.Fatal(err)
	}
	data := e.Data()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Validate(schemas.TypeBidPlaced, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadBid reads a bid record as every consumer does (schemas.Read:
// decode, type on its topic, JSON Schema, data, key): what the processor
// does per bid before deciding.
func BenchmarkReadBid(b *testing.B) {
	meta, bid := benchBid()
	e, err := schemas.NewEvent(schemas.TypeBidPlaced, meta, bid)
	if err != nil {
		b.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(m.Value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := schemas.Read(schemas.TopicBids, m); err != nil {
			b.Fatal(err)
		}
	}
}

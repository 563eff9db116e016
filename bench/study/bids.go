package study

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/schemas"
)

// itemsPerPartition is how many items share a partition: enough that the
// keys look like a real stream, few enough to find them quickly.
const itemsPerPartition = 64

// bidSource is the source the bid function stamps on its events.
const bidSource = schemas.Source + "/functions/placebid"

// bids makes auction.bid.placed.v1 events exactly as the edge writes them,
// so a record carries what a real bid carries: the same headers, the same
// JSON. Event i goes to partition i mod partitions: its item is one of that
// partition's, so every partition gets its share, to within one event.
type bids struct {
	// items[p] are item ids that the producer's partitioner puts on p.
	items [][]string
	at    time.Time
}

func newBids(partitions int) *bids {
	b := &bids{items: make([][]string, partitions), at: time.Now().UTC()}
	for n, found := 0, 0; found < partitions*itemsPerPartition; n++ {
		id := fmt.Sprintf("itm_01HV7Q9X4M2N%010d", n)
		p := partitionOf(id, partitions)
		if len(b.items[p]) < itemsPerPartition {
			b.items[p] = append(b.items[p], id)
			found++
		}
	}
	return b
}

// partitionOf is where the producer's partitioner (fnv1a, which agrees
// with goka's hasher: see internal/kafkaio) puts key.
func partitionOf(key string, partitions int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	v := int32(h.Sum32())
	if v < 0 {
		v = -v
	}
	return int(v % int32(partitions))
}

// event returns bid number i.
func (b *bids) event(i int) (event.Event, error) {
	p := i % len(b.items)
	item := b.items[p][(i/len(b.items))%itemsPerPartition]
	bid := schemas.BidPlaced{
		BidID:    uuid.Must(uuid.NewV7()).String(),
		ItemID:   item,
		Bidder:   schemas.Party{ID: "usr_8be214", Name: "Tomás Ferreira", Location: "PT-11"},
		Amount:   schemas.Money{Amount: 230000 + int64(i), Currency: "GBP"},
		PlacedAt: b.at.Add(time.Duration(i) * time.Microsecond),
	}
	return schemas.NewEvent(schemas.TypeBidPlaced, schemas.Meta{
		ID: bid.BidID, Source: bidSource, Subject: item, Time: bid.PlacedAt,
	}, bid)
}

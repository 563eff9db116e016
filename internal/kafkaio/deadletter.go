package kafkaio

import (
	"strconv"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// DeadLetter builds the dead-letter record for msg: the original key, value
// and headers untouched, plus headers naming its origin and the failure.
func DeadLetter(msg cekafka.Message, dl schemas.DeadLetter) Record {
	at := dl.At
	if at.IsZero() {
		at = time.Now()
	}
	hs := make([]cekafka.Header, 0, len(msg.Headers)+7)
	hs = append(hs, msg.Headers...)
	hs = append(hs,
		cekafka.Header{Key: schemas.HeaderDLQTopic, Value: []byte(dl.Topic)},
		cekafka.Header{Key: schemas.HeaderDLQPartition, Value: []byte(strconv.Itoa(int(dl.Partition)))},
		cekafka.Header{Key: schemas.HeaderDLQOffset, Value: []byte(strconv.FormatInt(dl.Offset, 10))},
		cekafka.Header{Key: schemas.HeaderDLQError, Value: []byte(dl.Error)},
		cekafka.Header{Key: schemas.HeaderDLQAttempts, Value: []byte(strconv.Itoa(dl.Attempts))},
		cekafka.Header{Key: schemas.HeaderDLQConsumer, Value: []byte(dl.Consumer)},
		cekafka.Header{Key: schemas.HeaderDLQTime, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
	)
	return Record{
		Topic:   schemas.TopicDeadLetter,
		Message: cekafka.Message{Key: msg.Key, Value: msg.Value, Headers: hs},
	}
}

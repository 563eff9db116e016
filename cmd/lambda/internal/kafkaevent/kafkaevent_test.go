package kafkaevent_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

var at = time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func rec(topic string, partition int32, offset int64, key string) trigger.Record {
	return trigger.Record{Topic: topic, Partition: partition, Offset: offset, Timestamp: at, Message: cekafka.Message{
		Key: []byte(key), Value: []byte(`{"n":` + key + `}`),
		Headers: []cekafka.Header{{Key: "ce_id", Value: []byte("e-" + key)}, {Key: "traceparent", Value: []byte{0, 200, 255}}},
	}}
}

// TestBatches: an event as Lambda's JSON carries it reads back as one batch
// per topic-partition, each in offset order, with keys, values and headers
// (bytes above 127 included, which the event spells as negative numbers)
// as they were written.
func TestBatches(t *testing.T) {
	a0, a1, a2 := rec("t", 0, 7, "1"), rec("t", 0, 8, "2"), rec("t", 0, 9, "3")
	b0 := rec("t", 1, 3, "4")
	raw, err := json.Marshal(kafkaevent.Event(a2, b0, a0, a1))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KafkaEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	got, err := kafkaevent.Batches(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]trigger.Record{{a0, a1, a2}, {b0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batches\n got %+v\nwant %+v", got, want)
	}

	ev.Records["t-0"][1].Value = "not base64!"
	if _, err := kafkaevent.Batches(ev); err == nil {
		t.Error("a value that is not base64: no error")
	}
}

// TestHandler: each partition's batch goes to the handler in turn; a
// permanent record error is dead-lettered and the rest goes on; any other
// error fails the invocation (Lambda then retries the event).
func TestHandler(t *testing.T) {
	var seen [][]int64
	dl := &letters{}
	h := kafkaevent.Handler(func(_ context.Context, batch []trigger.Record) error {
		var offs []int64
		for _, r := range batch {
			offs = append(offs, r.Offset)
		}
		seen = append(seen, offs)
		for i, r := range batch {
			if string(r.Key) == "poison" {
				return &trigger.RecordError{Index: i, Err: errors.New("undecodable"), Permanent: true}
			}
			if string(r.Key) == "down" {
				return errors.New("table unavailable")
			}
		}
		return nil
	}, trigger.DeadLetterPolicy{Writer: dl, Consumer: "test"}, nil)

	if err := h(context.Background(), kafkaevent.Event(rec("t", 0, 1, "1"), rec("t", 0, 2, "poison"), rec("t", 0, 3, "3"), rec("t", 1, 5, "5"))); err != nil {
		t.Fatalf("a poison record: %v, want it dead-lettered and the invocation to succeed", err)
	}
	if want := [][]int64{{1, 2, 3}, {3}, {5}}; !reflect.DeepEqual(seen, want) {
		t.Errorf("calls %v, want %v", seen, want)
	}
	if len(dl.offsets) != 1 || dl.offsets[0] != "2" {
		t.Errorf("dead letters from offsets %v, want [2]", dl.offsets)
	}
	if err := h(context.Background(), kafkaevent.Event(rec("t", 0, 1, "down"))); err == nil {
		t.Error("a failing call: no error, want the invocation to fail")
	}
}

// letters is a dead-letter writer that keeps the origin offsets.
type letters struct{ offsets []string }

func (l *letters) Write(_ context.Context, recs ...kafkaio.Record) error {
	for _, r := range recs {
		v, _ := r.Header(schemas.HeaderDLQOffset)
		l.offsets = append(l.offsets, string(v))
	}
	return nil
}

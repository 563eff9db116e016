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

// TestHandler: each partition's batch reaches the handler in offset
// order; a permanent record error is dead-lettered and the rest goes on;
// any other error fails the invocation (Lambda then retries the event).
func TestHandler(t *testing.T) {
	var seen [][]int64
	dl := &letters{}
	h := kafkaevent.Handler(handler(&seen), trigger.DeadLetterPolicy{Writer: dl, Consumer: "test"}, false, nil)

	resp, err := h(context.Background(), kafkaevent.Event(rec("t", 0, 1, "1"), rec("t", 0, 2, "poison"), rec("t", 0, 3, "3"), rec("t", 1, 5, "5")))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a poison record: %+v, %v; want it dead-lettered and the invocation to succeed", resp, err)
	}
	if want := [][]int64{{1, 2, 3}, {3}, {5}}; !reflect.DeepEqual(seen, want) {
		t.Errorf("calls %v, want %v", seen, want)
	}
	if len(dl.offsets) != 1 || dl.offsets[0] != "2" {
		t.Errorf("dead letters from offsets %v, want [2]", dl.offsets)
	}
	if _, err := h(context.Background(), kafkaevent.Event(rec("t", 0, 1, "down"))); err == nil {
		t.Error("a failing call: no error, want the invocation to fail")
	}
}

// TestPartialBatchResponse: with the mapping's partial batch response, a
// partition that fails is named from the record it failed at (the records
// before it are done), the other partitions go on, and the invocation
// succeeds; the answer is the JSON the mapping reads.
func TestPartialBatchResponse(t *testing.T) {
	var seen [][]int64
	h := kafkaevent.Handler(handler(&seen), trigger.DeadLetterPolicy{Writer: &letters{}, Consumer: "test"}, true, nil)
	resp, err := h(context.Background(), kafkaevent.Event(
		rec("t", 0, 1, "1"), rec("t", 0, 2, "slow"), rec("t", 0, 3, "3"), // fails at offset 2
		rec("t", 1, 5, "down"), rec("t", 1, 6, "6"), // fails as a whole
		rec("t", 2, 7, "7")))
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int64{{1, 2, 3}, {5, 6}, {7}}; !reflect.DeepEqual(seen, want) {
		t.Errorf("calls %v, want %v", seen, want)
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":2}},{"itemIdentifier":{"partition":"t-1","offset":5}}]}`; string(raw) != want {
		t.Errorf("answer %s,\nwant %s", raw, want)
	}
	if resp, _ := h(context.Background(), kafkaevent.Event(rec("t", 0, 1, "1"))); resp.BatchItemFailures == nil {
		t.Error("an event all done: a null list of failures, want an empty one")
	}
}

// handler records each batch's offsets in seen and fails as the records'
// keys say: "poison" is a permanent error at its index, "slow" a
// transient one at its index, "down" one for the whole batch.
func handler(seen *[][]int64) trigger.Handler {
	return func(_ context.Context, batch []trigger.Record) error {
		var offs []int64
		for _, r := range batch {
			offs = append(offs, r.Offset)
		}
		*seen = append(*seen, offs)
		for i, r := range batch {
			switch string(r.Key) {
			case "poison":
				return &trigger.RecordError{Index: i, Err: errors.New("undecodable"), Permanent: true}
			case "slow":
				return &trigger.RecordError{Index: i, Err: errors.New("table throttled")}
			case "down":
				return errors.New("table unavailable")
			}
		}
		return nil
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

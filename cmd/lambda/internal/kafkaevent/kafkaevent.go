// Package kafkaevent binds a Kafka trigger handler (functions/trigger) to
// AWS Lambda's Kafka event source mapping, as Amazon MSK and self-managed
// Kafka deliver it: records grouped by "topic-partition", keys and values
// base64, headers as lists of one-entry maps of byte arrays. The function
// does not change: it gets the same trigger.Record batches, in offset order
// per partition, as under the project's own trigger.
//
// Failures follow the event source mapping's rules. A poison record (a
// permanent *trigger.RecordError) is written to the dead-letter topic with
// its origin, as the trigger does, and the rest of its partition goes on.
// Any other failure leaves the rest of its partition to the mapping's
// retries: with the mapping's partial batch response
// (ReportBatchItemFailures, in provisioned mode) the answer names the first
// record of each partition not done, so only those are sent again and the
// other partitions go on; without it, the invocation fails and Lambda sends
// the whole event again.
package kafkaevent

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Batches reads ev as the trigger's batches: one per topic-partition, in
// offset order, the partitions in name order.
func Batches(ev events.KafkaEvent) ([][]trigger.Record, error) {
	var out [][]trigger.Record
	for _, tp := range slices.Sorted(maps.Keys(ev.Records)) {
		recs := ev.Records[tp]
		batch := make([]trigger.Record, 0, len(recs))
		for _, r := range recs {
			rec, err := record(r)
			if err != nil {
				return nil, fmt.Errorf("%s offset %d: %w", tp, r.Offset, err)
			}
			batch = append(batch, rec)
		}
		slices.SortStableFunc(batch, func(a, b trigger.Record) int { return cmp.Compare(a.Offset, b.Offset) })
		out = append(out, batch)
	}
	return out, nil
}

func record(r events.KafkaRecord) (trigger.Record, error) {
	key, err := base64.StdEncoding.DecodeString(r.Key)
	if err != nil {
		return trigger.Record{}, fmt.Errorf("key: %w", err)
	}
	value, err := base64.StdEncoding.DecodeString(r.Value)
	if err != nil {
		return trigger.Record{}, fmt.Errorf("value: %w", err)
	}
	msg := cekafka.Message{Key: key, Value: value}
	for _, h := range r.Headers {
		// One entry per map, in the record's order; Go's maps are not
		// ordered, so a map of several keys is read in key order.
		for _, k := range slices.Sorted(maps.Keys(h)) {
			msg.Headers = append(msg.Headers, cekafka.Header{Key: k, Value: []byte(h[k])})
		}
	}
	return trigger.Record{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset,
		Timestamp: r.Timestamp.UTC(), Message: msg}, nil
}

// Event is the event Lambda would deliver for recs, for tests and tools:
// the inverse of Batches.
func Event(recs ...trigger.Record) events.KafkaEvent {
	ev := events.KafkaEvent{EventSource: "SelfManagedKafka", Records: map[string][]events.KafkaRecord{}}
	for _, r := range recs {
		tp := fmt.Sprintf("%s-%d", r.Topic, r.Partition)
		headers := make([]map[string]events.JSONNumberBytes, len(r.Headers))
		for i, h := range r.Headers {
			headers[i] = map[string]events.JSONNumberBytes{h.Key: h.Value}
		}
		ts := r.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		ev.Records[tp] = append(ev.Records[tp], events.KafkaRecord{
			Topic: r.Topic, Partition: int64(r.Partition), Offset: r.Offset,
			Timestamp: events.MilliSecondsEpochTime{Time: ts}, TimestampType: "CREATE_TIME",
			Key: base64.StdEncoding.EncodeToString(r.Key), Value: base64.StdEncoding.EncodeToString(r.Value),
			Headers: headers,
		})
	}
	return ev
}

// Response is the mapping's partial batch response: the first record of
// each partition that is not done. None: the whole event is done.
type Response struct {
	BatchItemFailures []Failure `json:"batchItemFailures"`
}

// Failure names a record as the mapping wants it: its "topic-partition"
// and offset.
type Failure struct {
	ItemIdentifier Item `json:"itemIdentifier"`
}

// Item is a record of the event.
type Item struct {
	Partition string `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Handler is h as a Lambda handler: each partition's batch through
// trigger.Recover and trigger.DeadLetter (dl), one partition after the
// other, as one call per partition at a time keeps their order. With
// partial (the mapping reports batch item failures), a partition that
// fails is named in the Response from the record it failed at, and the
// others go on; without, the first failure fails the invocation.
func Handler(h trigger.Handler, dl trigger.DeadLetterPolicy, partial bool, log *slog.Logger) func(context.Context, events.KafkaEvent) (Response, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wrapped := trigger.DeadLetter(dl)(trigger.Recover(log)(h))
	return func(ctx context.Context, ev events.KafkaEvent) (Response, error) {
		batches, err := Batches(ev)
		if err != nil {
			return Response{}, err
		}
		resp := Response{BatchItemFailures: []Failure{}}
		for _, b := range batches {
			if len(b) == 0 {
				continue
			}
			err := wrapped(ctx, b)
			if err == nil {
				continue
			}
			tp := fmt.Sprintf("%s-%d", b[0].Topic, b[0].Partition)
			if !partial {
				return Response{}, fmt.Errorf("%s: %w", tp, err)
			}
			// The records before the one it failed at are done.
			from := 0
			var re *trigger.RecordError
			if errors.As(err, &re) && re.Index >= 0 && re.Index < len(b) {
				from = re.Index
			}
			log.WarnContext(ctx, "partition left to the mapping's retries", "partition", tp, "from", b[from].Offset, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, Failure{Item{Partition: tp, Offset: b[from].Offset}})
		}
		return resp, nil
	}
}

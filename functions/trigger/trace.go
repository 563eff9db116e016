package trigger

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// Trace runs each call of next in a consumer span, named "process <topic>
// <function>" and ended with the call's error, so that what a function does
// is found from the request that wrote its records. A call of one record
// continues that record's trace; a batch has many parents, so its span
// starts a trace of its own with a link to each record's producer span.
// group is the consumer group, an attribute of the span.
//
// Inside Retry, every attempt is a span of its own: a record retried three
// times shows three failed spans in its producer's trace. Around Recover, a
// panic is the error its span ends with.
func Trace(function, group string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, batch []Record) (err error) {
			if len(batch) == 0 {
				return next(ctx, batch)
			}
			ctx, span := startSpan(ctx, function, group, batch)
			defer func() { telemetry.End(span, err) }()
			return next(ctx, batch)
		}
	}
}

// startSpan starts the consumer span of a call of batch.
func startSpan(ctx context.Context, function, group string, batch []Record) (context.Context, trace.Span) {
	first := batch[0]
	o := telemetry.Origin{Topic: first.Topic, Partition: first.Partition, Offset: first.Offset, Group: group}
	name := "process " + first.Topic + " " + function
	if len(batch) == 1 {
		return telemetry.StartProcess(ctx, name, o, first.Headers)
	}
	return telemetry.StartBatch(ctx, name, o, len(batch), func(i int) []cekafka.Header { return batch[i].Headers })
}

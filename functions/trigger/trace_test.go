package trigger_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/telemetry"
)

// TestTrace: each call runs in a consumer span that continues its record's
// trace, carries its origin, and ends with the call's error; around
// Recover, a panic is that error. (How a batch's span links its records'
// producers is TestCallSpans'.)
func TestTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	pctx, producer := telemetry.StartPublish(context.Background(), "t", 1)
	batch := batchOf(1, time.Now())
	batch[0].Partition, batch[0].Offset = 2, 7
	batch[0].Headers = telemetry.Inject(pctx, nil)
	producer.End()

	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		h       trigger.Handler
		wantErr string
	}{
		{"a failing call", func(context.Context, []trigger.Record) error { return errBoom }, "boom"},
		{"a panicking call", trigger.Recover(slog.New(slog.DiscardHandler))(func(context.Context, []trigger.Record) error {
			panic("index out of range")
		}), "handler panicked: index out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in trace.SpanContext
			h := func(ctx context.Context, b []trigger.Record) error {
				in = trace.SpanContextFromContext(ctx)
				return tt.h(ctx, b)
			}
			if err := trigger.Trace("fn", "g")(h)(context.Background(), batch); err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error: got %v, want %s", err, tt.wantErr)
			}
			var s sdktrace.ReadOnlySpan
			for _, e := range rec.Ended() {
				if e.SpanContext().SpanID() == in.SpanID() {
					s = e
				}
			}
			if s == nil {
				t.Fatalf("the span the handler ran in (%v) was not ended", in)
			}
			if s.Name() != "process t fn" || s.SpanKind() != trace.SpanKindConsumer {
				t.Errorf("span: got %q of kind %v, want consumer \"process t fn\"", s.Name(), s.SpanKind())
			}
			if s.Parent().SpanID() != producer.SpanContext().SpanID() {
				t.Errorf("span parent: got %v, want the producer span %v", s.Parent().SpanID(), producer.SpanContext().SpanID())
			}
			if s.Status().Code != codes.Error || s.Status().Description != tt.wantErr {
				t.Errorf("span status: got %v %q, want Error %q", s.Status().Code, s.Status().Description, tt.wantErr)
			}
			attrs := attribute.NewSet(s.Attributes()...)
			for key, want := range map[attribute.Key]string{
				"messaging.consumer.group.name": "g", "messaging.destination.partition.id": "2",
			} {
				if v, _ := attrs.Value(key); v.AsString() != want {
					t.Errorf("span attribute %s: got %q, want %q", key, v.AsString(), want)
				}
			}
			if v, _ := attrs.Value("messaging.kafka.offset"); v.AsInt64() != 7 {
				t.Errorf("span attribute messaging.kafka.offset: got %d, want 7", v.AsInt64())
			}
		})
	}
}

package trigger

import (
	"context"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/telemetry"
)

// TestCallSpans checks how a call's span relates to the spans that produced
// its records: one record continues its producer's trace, a batch starts a
// trace of its own linked to every producer.
func TestCallSpans(t *testing.T) {
	rec := recordSpans(t)

	// Three records, each written in a producer span of its own trace.
	var producers []trace.SpanContext
	recs := records(3)
	for i := range recs {
		ctx, span := telemetry.StartPublish(context.Background(), "spans", 1)
		recs[i].Topic = "spans"
		recs[i].Headers = telemetry.Inject(ctx, nil)
		producers = append(producers, span.SpanContext())
		span.End()
	}

	cfg, err := Config{Name: "fn", Group: "g", Topics: []string{"spans"}, Kafka: kafkaio.Config{Brokers: []string{"unused:9092"}}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	var seen []trace.SpanContext // the span each call ran in
	h := func(ctx context.Context, _ []Record) error {
		seen = append(seen, trace.SpanContextFromContext(ctx))
		return nil
	}
	w := newWorker(context.Background(), cfg, h, &fakeDLQ{}, &counters{}, slog.New(slog.DiscardHandler), func(int64) error { return nil })
	// Each batch succeeds in one call, so each makes one span.
	for _, batch := range [][]Record{recs[:1], recs} {
		if !w.process(batch) {
			t.Fatalf("process of %d records: got false, want true", len(batch))
		}
	}

	ended := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		ended[s.SpanContext().SpanID()] = s
	}
	single, batch := ended[seen[0].SpanID()], ended[seen[1].SpanID()]
	if single == nil || batch == nil {
		t.Fatalf("call spans not ended: single %v, batch %v", single, batch)
	}
	if single.SpanKind() != trace.SpanKindConsumer || single.Name() != "process spans fn" {
		t.Errorf("single call span: kind %v name %q, want consumer \"process spans fn\"", single.SpanKind(), single.Name())
	}
	if single.Parent().SpanID() != producers[0].SpanID() || single.SpanContext().TraceID() != producers[0].TraceID() {
		t.Errorf("single call span: parent %v in trace %v, want the producer span %v", single.Parent().SpanID(),
			single.SpanContext().TraceID(), producers[0])
	}

	if batch.Parent().IsValid() {
		t.Errorf("batch span has parent %v, want a root", batch.Parent())
	}
	links := batch.Links()
	if len(links) != len(producers) {
		t.Fatalf("batch span has %d links, want %d", len(links), len(producers))
	}
	for i, l := range links {
		if l.SpanContext.TraceID() != producers[i].TraceID() || l.SpanContext.SpanID() != producers[i].SpanID() {
			t.Errorf("link %d = %v, want producer %v", i, l.SpanContext, producers[i])
		}
		if producers[i].TraceID() == batch.SpanContext().TraceID() {
			t.Errorf("batch span shares trace %v with producer %d", producers[i].TraceID(), i)
		}
	}
}

// recordSpans records the spans that t's code ends.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

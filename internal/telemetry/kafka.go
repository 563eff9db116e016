package telemetry

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/schemas/cekafka"
)

// Header names of trace context on a Kafka record.
const (
	// HeaderTraceparent and HeaderTracestate are W3C trace context.
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
	// HeaderCETraceparent and HeaderCETracestate are the CloudEvents
	// distributed-tracing extension in the Kafka binding's binary mode.
	HeaderCETraceparent = "ce_traceparent"
	HeaderCETracestate  = "ce_tracestate"
)

// headerCarrier adapts record headers to OpenTelemetry's TextMapCarrier;
// prefix selects the CloudEvents extension form ("ce_").
type headerCarrier struct {
	hs     *[]cekafka.Header
	prefix string
}

func (c headerCarrier) Get(key string) string {
	for _, h := range *c.hs {
		if h.Key == c.prefix+key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces the header, so a record written again (a retry, a dead
// letter) carries the context of its latest write only.
func (c headerCarrier) Set(key, value string) {
	name := c.prefix + key
	for i, h := range *c.hs {
		if h.Key == name {
			(*c.hs)[i].Value = []byte(value)
			return
		}
	}
	*c.hs = append(*c.hs, cekafka.Header{Key: name, Value: []byte(value)})
}

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(*c.hs))
	for _, h := range *c.hs {
		if len(h.Key) > len(c.prefix) && h.Key[:len(c.prefix)] == c.prefix {
			keys = append(keys, h.Key[len(c.prefix):])
		}
	}
	return keys
}

var traceContext propagation.TraceContext

// Inject writes the span context of ctx into hs, both as W3C headers and
// as the CloudEvents extension, and returns hs. Without a valid span
// context hs is returned unchanged.
func Inject(ctx context.Context, hs []cekafka.Header) []cekafka.Header {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return hs
	}
	traceContext.Inject(ctx, headerCarrier{hs: &hs})
	traceContext.Inject(ctx, headerCarrier{hs: &hs, prefix: "ce_"})
	return hs
}

// Extract returns ctx with the remote span context carried by hs: the W3C
// headers, or else the CloudEvents extension.
func Extract(ctx context.Context, hs []cekafka.Header) context.Context {
	sc := SpanContextOf(hs)
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// SpanContextOf returns the span context carried by hs; it is not valid
// when hs carries none.
func SpanContextOf(hs []cekafka.Header) trace.SpanContext {
	for _, prefix := range []string{"", "ce_"} {
		ctx := traceContext.Extract(context.Background(), headerCarrier{hs: &hs, prefix: prefix})
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			return sc
		}
	}
	return trace.SpanContext{}
}

// TraceIDOf returns the trace id carried by hs, or "".
func TraceIDOf(hs []cekafka.Header) string {
	sc := SpanContextOf(hs)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

func messaging(topic string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.destination.name", topic),
	}
}

// StartPublish starts the producer span of writing n records to topic. The
// records' headers get its context with Inject.
func StartPublish(ctx context.Context, topic string, n int) (context.Context, trace.Span) {
	attrs := append(messaging(topic), attribute.String("messaging.operation.type", "send"))
	if n > 1 {
		attrs = append(attrs, attribute.Int("messaging.batch.message_count", n))
	}
	return Tracer().Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
}

// Origin says where a consumed record was read.
type Origin struct {
	Topic     string
	Partition int32
	Offset    int64
	Group     string
}

func (o Origin) attrs() []attribute.KeyValue {
	attrs := append(messaging(o.Topic),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.partition.id", strconv.Itoa(int(o.Partition))),
		attribute.Int64("messaging.kafka.offset", o.Offset))
	if o.Group != "" {
		attrs = append(attrs, attribute.String("messaging.consumer.group.name", o.Group))
	}
	return attrs
}

// StartProcess starts the consumer span of processing one record: a child
// of the span that produced it, so a trace follows the event.
func StartProcess(ctx context.Context, name string, o Origin, hs []cekafka.Header) (context.Context, trace.Span) {
	return Tracer().Start(Extract(ctx, hs), name,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(o.attrs()...))
}

// StartBatch starts the consumer span of processing a batch of records in
// one call. A batch has many parents, so the span starts a trace of its
// own and links to each record's producer span instead.
func StartBatch(ctx context.Context, name string, first Origin, n int, headers func(i int) []cekafka.Header) (context.Context, trace.Span) {
	links := make([]trace.Link, 0, n)
	for i := range n {
		if sc := SpanContextOf(headers(i)); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	attrs := append(first.attrs(), attribute.Int("messaging.batch.message_count", n))
	return Tracer().Start(ctx, name, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...), trace.WithAttributes(attrs...))
}

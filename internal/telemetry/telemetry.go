// Package telemetry is the platform's tracing: one OpenTelemetry tracer
// provider per process, W3C trace context carried across Kafka in record
// headers, and logs that name the trace and span they were written in.
//
// Every event on a topic carries its producer's span context twice: as the
// W3C traceparent/tracestate headers, which OpenTelemetry instrumentation of
// any Kafka client reads, and as the CloudEvents distributed-tracing
// extension (ce_traceparent/ce_tracestate in binary content mode), which a
// CloudEvents consumer in any language reads. Extract prefers the first.
//
// Trace ids exist for lineage and logs even when nothing is exported, but
// spans are recorded only when something exports them: an OTLP exporter,
// added when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set
// and OTEL_TRACES_EXPORTER is not "none", or a test's. A trace begun in a
// process that exports nothing is marked unsampled in its traceparent, and
// the processes after it follow the caller's decision, as OpenTelemetry's
// parent-based sampling does: turn export on in every process or none.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of every span the platform starts.
const Scope = "github.com/auctionflow/auction"

// Tracer returns the platform's tracer from the global provider.
func Tracer() trace.Tracer { return otel.Tracer(Scope) }

// Propagator is W3C trace context plus baggage.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Settings configure Setup. Zero values come from the standard
// OpenTelemetry environment variables.
type Settings struct {
	// Service names the process in traces (OTEL_SERVICE_NAME wins).
	Service string
	// Getenv reads the environment; nil means no variables are set.
	Getenv func(string) string
	// Exporter, if set, receives every span (tests use an in-memory one)
	// in addition to OTLP.
	Exporter sdktrace.SpanExporter
	// Sync exports each span as it ends instead of in batches (for tests).
	Sync bool
}

// Setup installs the global tracer provider and propagator and returns a
// shutdown that flushes pending spans. exporting tells whether spans leave
// the process.
func Setup(ctx context.Context, s Settings) (shutdown func(context.Context) error, exporting bool, err error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	service := s.Service
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		service = v
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err != nil {
		return nil, false, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if s.Exporter != nil {
		if s.Sync {
			opts = append(opts, sdktrace.WithSyncer(s.Exporter))
		} else {
			opts = append(opts, sdktrace.WithBatcher(s.Exporter))
		}
		exporting = true
	}
	if otlpWanted(getenv) {
		// The exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint, headers,
		// timeout, TLS), as every OpenTelemetry SDK does.
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
		exporting = true
	}
	// A span nothing exports is not recorded: its attributes, events and
	// end are no-ops. It still has its trace and span ids, which lineage,
	// logs and the headers of the records written under it carry.
	sampler := sdktrace.NeverSample()
	if exporting {
		sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	opts = append(opts, sdktrace.WithSampler(sampler))
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	return tp.Shutdown, exporting, nil
}

func otlpWanted(getenv func(string) string) bool {
	switch strings.ToLower(getenv("OTEL_TRACES_EXPORTER")) {
	case "none":
		return false
	case "otlp":
		return true
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// End ends span, recording err (if any) as its status.
func End(span trace.Span, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

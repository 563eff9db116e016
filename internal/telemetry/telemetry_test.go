package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/telemetry"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// recorder installs a tracer provider that records every ended span.
func recorder(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

func header(hs []cekafka.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestInjectExtract(t *testing.T) {
	recorder(t)
	ctx, span := telemetry.Tracer().Start(context.Background(), "producer")
	defer span.End()
	sc := span.SpanContext()

	hs := telemetry.Inject(ctx, []cekafka.Header{{Key: "ce_id", Value: []byte("e1")}})
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := header(hs, telemetry.HeaderTraceparent); got != want {
		t.Errorf("traceparent = %q, want %q", got, want)
	}
	if got := header(hs, telemetry.HeaderCETraceparent); got != want {
		t.Errorf("ce_traceparent = %q, want %q", got, want)
	}
	if header(hs, "ce_id") != "e1" {
		t.Errorf("other headers lost: %v", hs)
	}

	// Injecting again (a retried write) replaces, never duplicates.
	ctx2, span2 := telemetry.Tracer().Start(context.Background(), "retry")
	defer span2.End()
	hs = telemetry.Inject(ctx2, hs)
	n := 0
	for _, h := range hs {
		if h.Key == telemetry.HeaderTraceparent {
			n++
		}
	}
	if n != 1 || telemetry.TraceIDOf(hs) != span2.SpanContext().TraceID().String() {
		t.Errorf("after a second inject: %d traceparent headers, trace %s; want 1, %s", n, telemetry.TraceIDOf(hs), span2.SpanContext().TraceID())
	}

	// A record from a CloudEvents producer that sets only the extension.
	only := []cekafka.Header{{Key: telemetry.HeaderCETraceparent, Value: []byte(want)}}
	got := trace.SpanContextFromContext(telemetry.Extract(context.Background(), only))
	if !got.IsRemote() || got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID() {
		t.Errorf("Extract(ce_traceparent only) = %v, want remote %v", got, sc)
	}
	// The extension decodes as the CloudEvents attribute, too.
	e, err := cekafka.Decode(cekafka.Message{Value: []byte(`{}`), Headers: append(only,
		cekafka.Header{Key: "ce_specversion", Value: []byte("1.0")}, cekafka.Header{Key: "ce_id", Value: []byte("x")},
		cekafka.Header{Key: "ce_source", Value: []byte("/s")}, cekafka.Header{Key: "ce_type", Value: []byte("t")})})
	if err != nil {
		t.Fatal(err)
	}
	if ext, _ := e.Extensions()["traceparent"].(string); ext != want {
		t.Errorf("CloudEvent traceparent extension = %q, want %q", ext, want)
	}

	// Nothing to carry: headers unchanged; nothing carried: ctx unchanged.
	if hs := telemetry.Inject(context.Background(), nil); len(hs) != 0 {
		t.Errorf("Inject without a span = %v, want none", hs)
	}
	if telemetry.TraceIDOf([]cekafka.Header{{Key: "traceparent", Value: []byte("garbage")}}) != "" {
		t.Error("a malformed traceparent yields a trace id")
	}
}

func TestLogHandlerNamesTraceAndSpan(t *testing.T) {
	recorder(t)
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, span := telemetry.Tracer().Start(context.Background(), "work")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var in, out map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil {
		t.Fatal(err)
	}
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() || in["component"] != "test" {
		t.Errorf("log in a span = %v, want its trace_id and span_id", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("log outside a span = %v, want no trace_id", out)
	}
}

func TestHTTPSpans(t *testing.T) {
	rec := recorder(t)
	r := chi.NewRouter()
	r.Use(telemetry.HTTP)
	r.Get("/v1/items/{itemId}", func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Error("handler runs without a span")
		}
		w.WriteHeader(http.StatusTeapot)
	})
	r.Get("/boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })

	// A caller that sends its own trace context gets a child span.
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req := httptest.NewRequest(http.MethodGet, "/v1/items/it-1", nil)
	req.Header.Set("Traceparent", parent)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/boom", nil))

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want 2", len(spans))
	}
	s := spans[0]
	if s.Name() != "GET /v1/items/{itemId}" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v, want server \"GET /v1/items/{itemId}\"", s.Name(), s.SpanKind())
	}
	if s.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span in trace %s under %s, want the caller's", s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	attrs := map[string]string{}
	for _, a := range s.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["http.route"] != "/v1/items/{itemId}" || attrs["http.response.status_code"] != "418" {
		t.Errorf("attributes %v, want the route and 418", attrs)
	}
	if got := w.Header().Get("Traceparent"); !strings.HasPrefix(got, "00-4bf92f3577b34da6a3ce929d0e0e4736-"+s.SpanContext().SpanID().String()) {
		t.Errorf("answer's Traceparent = %q, want the server span", got)
	}
	if spans[1].Status().Code.String() != "Error" {
		t.Errorf("a 502 span has status %v, want Error", spans[1].Status())
	}
}

func TestSetupExporters(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	for _, tt := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
	} {
		shutdown, exporting, err := telemetry.Setup(context.Background(), telemetry.Settings{
			Service: "test", Getenv: func(k string) string { return tt.env[k] },
		})
		if err != nil {
			t.Fatal(err)
		}
		if exporting != tt.want {
			t.Errorf("env %v: exporting = %v, want %v", tt.env, exporting, tt.want)
		}
		// Every span has ids, which lineage and logs use; only one that
		// leaves the process is recorded, and its records say so.
		ctx, span := telemetry.Tracer().Start(context.Background(), "x")
		if !span.SpanContext().IsValid() {
			t.Errorf("env %v: span has no ids", tt.env)
		}
		if span.IsRecording() != tt.want || span.SpanContext().IsSampled() != tt.want {
			t.Errorf("env %v: recording %v, sampled %v, want both %v", tt.env, span.IsRecording(), span.SpanContext().IsSampled(), tt.want)
		}
		hs := telemetry.Inject(ctx, nil)
		if len(hs) == 0 {
			t.Errorf("env %v: no trace context written to headers", tt.env)
		}
		span.End()
		stop, cancel := context.WithCancel(context.Background())
		cancel() // nothing listens on 4318: do not wait for it
		_ = shutdown(stop)
	}
}

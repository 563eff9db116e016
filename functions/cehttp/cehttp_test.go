package cehttp_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttpsdk "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/auctionflow/auction/functions/cehttp"
	"github.com/auctionflow/auction/functions/cehttp/cehttptest"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

var quiet = slog.New(slog.DiscardHandler)

// completion is the platform's event of an auction that closed, as the
// processor writes it.
func completion(t *testing.T, item string) event.Event {
	t.Helper()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	e, err := schemas.NewEvent(schemas.TypeItemCompleted, schemas.Meta{
		ID: item + ".completed", Source: "/auction/streams/auction", Subject: item, Key: item, Time: at,
	}, schemas.ItemCompleted{ItemID: item, SellerID: "u-sam", Title: "Brass telescope", Category: "optics",
		Bidders: []string{}, EndsAt: at, ClosedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sender is the CloudEvents SDK's HTTP client, as a broker delivers.
func sender(t *testing.T, target string) cloudevents.Client {
	t.Helper()
	c, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(target))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// status is the HTTP status a delivery was answered with.
func status(t *testing.T, res error) int {
	t.Helper()
	var hr *cehttpsdk.Result
	if !cloudevents.ResultAs(res, &hr) {
		t.Fatalf("delivery: got %v, want an HTTP result", res)
	}
	return hr.StatusCode
}

// TestHandler: an event delivered in binary or structured mode reaches the
// function as the record the platform writes to Kafka (same key, value and
// event), on the topic of its type; the answer is 202, or 422 for an event
// the function refuses (the broker's dead letter), 503 for a failure (the
// broker retries), 400 for what is not a CloudEvent.
func TestHandler(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []trigger.Record
		fail error
	)
	h := cehttp.Handler(func(_ context.Context, batch []trigger.Record) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, batch...)
		return fail
	}, quiet)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := sender(t, srv.URL)
	ev := completion(t, "item-1")
	want, err := cekafka.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}

	for _, mode := range []struct {
		name string
		ctx  context.Context
	}{
		{"binary", cloudevents.WithEncodingBinary(t.Context())},
		{"structured", cloudevents.WithEncodingStructured(t.Context())},
	} {
		got = nil
		if res := c.Send(mode.ctx, ev); !cloudevents.IsACK(res) || status(t, res) != http.StatusAccepted {
			t.Fatalf("%s: got %v, want 202", mode.name, res)
		}
		if len(got) != 1 {
			t.Fatalf("%s: the function got %d records, want 1", mode.name, len(got))
		}
		r := got[0]
		if r.Topic != schemas.TopicItemComplete || string(r.Key) != "item-1" || string(r.Value) != string(want.Value) {
			t.Fatalf("%s: got record on %s key %q value %s, want it on %s under item-1 with %s", mode.name, r.Topic, r.Key, r.Value,
				schemas.TopicItemComplete, want.Value)
		}
		read, err := schemas.Read(r.Topic, r.Message)
		if err != nil || read.Event.ID() != ev.ID() || read.Event.Source() != ev.Source() {
			t.Fatalf("%s: the record reads as %+v, %v; want event %s", mode.name, read.Event, err, ev.ID())
		}
	}

	fail = &trigger.RecordError{Index: 0, Err: errors.New("under another key"), Permanent: true}
	if res := c.Send(t.Context(), ev); cloudevents.IsACK(res) || status(t, res) != http.StatusUnprocessableEntity {
		t.Fatalf("refused: got %v, want 422", res)
	}
	fail = errors.New("store down")
	if res := c.Send(t.Context(), ev); cloudevents.IsACK(res) || status(t, res) != http.StatusServiceUnavailable {
		t.Fatalf("failed: got %v, want 503", res)
	}

	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"itemId":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("not a CloudEvent: got %d %s, want 400 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	unknown := ev.Clone()
	unknown.SetType("com.example.other.v1")
	if res := c.Send(t.Context(), unknown); status(t, res) != http.StatusUnprocessableEntity {
		t.Fatalf("a type no topic carries: got %v, want 422", res)
	}
}

// TestHandlerPanics: a function that panics is answered 503, and the
// handler goes on serving.
func TestHandlerPanics(t *testing.T) {
	srv := httptest.NewServer(cehttp.Handler(func(context.Context, []trigger.Record) error { panic("boom") }, quiet))
	defer srv.Close()
	c := sender(t, srv.URL)
	for range 2 {
		if res := c.Send(t.Context(), completion(t, "item-1")); status(t, res) != http.StatusServiceUnavailable {
			t.Fatalf("got %v, want 503", res)
		}
	}
}

// TestSink: the records a function returns reach a CloudEvents receiver
// (the SDK's) as the same events, in binary mode, in order.
func TestSink(t *testing.T) {
	url, received := cehttptest.Receiver(t)
	sink, err := cehttp.NewSink(url)
	if err != nil {
		t.Fatal(err)
	}
	events := []event.Event{completion(t, "item-1"), completion(t, "item-2")}
	recs, err := kafkaio.Events(schemas.TopicItemComplete, events...)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Write(t.Context(), recs...); err != nil {
		t.Fatalf("Write: %v", err)
	}
	// The SDK's receiver answers once it has the event: all are in.
	got := received()
	if len(got) != len(events) {
		t.Fatalf("received %d events, want %d", len(got), len(events))
	}
	for i, want := range events {
		e := got[i]
		key, _ := e.Extensions()[cekafka.ExtPartitionKey].(string)
		if e.ID() != want.ID() || e.Type() != want.Type() || string(e.Data()) != string(want.Data()) || key != want.Subject() {
			t.Fatalf("received %s %s key %q %s, want %s %s key %q %s", e.ID(), e.Type(), key, e.Data(), want.ID(), want.Type(), want.Subject(), want.Data())
		}
	}

	dead, err := cehttp.NewSink("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.Write(t.Context(), recs...); err == nil {
		t.Fatal("Write to nobody: got nil, want an error")
	}
}

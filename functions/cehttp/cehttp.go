// Package cehttp binds a Kafka trigger handler (functions/trigger) to the
// CloudEvents HTTP protocol binding, the way Knative Eventing (a Trigger on
// a Broker, a KafkaSource's sink), Cloud Run with Eventarc or any other
// CloudEvents broker delivers events: one event per POST, in binary content
// mode (ce-* headers, the data as the body) or structured mode (the whole
// event as application/cloudevents+json). The function does not change: it
// gets a batch of one trigger.Record, the event as the platform writes it to
// Kafka, read by the same schemas.Read as every other consumer.
//
// The answer tells the broker what to do, as Knative's delivery spec reads
// it: 2xx delivered; 400 not a CloudEvent and 422 an event the function
// refuses (a permanent *trigger.RecordError), which a broker sends to its
// dead-letter sink rather than retry; 503 any other failure, which it
// retries with its backoff. So the retries and the dead letters are the
// broker's, configured on the Trigger, not the function's, and the
// function must be idempotent, as it must under Kafka.
//
// What the function returns is written through a trigger.Writer: a Kafka
// producer, or a Sink, which sends each event to a CloudEvents HTTP
// endpoint (K_SINK, under Knative's SinkBinding).
package cehttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// MaxBody bounds a delivery's body, as the platform's Kafka topics bound a
// record (1 MiB).
const MaxBody = 1 << 20

// Handler serves h over the CloudEvents HTTP binding. Each delivery is the
// record of the catalog topic that carries its type (schemas.TopicOf),
// keyed by its partitionkey extension, as it is on Kafka. A panic in h is
// an error of the call (trigger.Recover).
func Handler(h trigger.Handler, log *slog.Logger) http.Handler {
	h = trigger.Recover(log)(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			problem(w, http.StatusMethodNotAllowed, "method-not-allowed", "deliver events with POST")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			problem(w, http.StatusBadRequest, "not-a-cloudevent", err.Error())
			return
		}
		topic, ok := schemas.TopicOf(e.Type())
		if !ok {
			problem(w, http.StatusUnprocessableEntity, "unknown-type", fmt.Sprintf("no topic carries events of type %q", e.Type()))
			return
		}
		msg, err := cekafka.Encode(*e)
		if err != nil {
			problem(w, http.StatusBadRequest, "not-a-cloudevent", err.Error())
			return
		}
		rec := trigger.Record{Topic: topic, Offset: -1, Timestamp: e.Time(), Message: msg}
		err = h(r.Context(), []trigger.Record{rec})
		var re *trigger.RecordError
		switch {
		case err == nil:
			w.WriteHeader(http.StatusAccepted)
		case errors.As(err, &re) && re.Permanent:
			log.WarnContext(r.Context(), "refused event", "event", e.ID(), "type", e.Type(), "err", err)
			problem(w, http.StatusUnprocessableEntity, "refused", err.Error())
		default:
			log.ErrorContext(r.Context(), "event not handled; the broker may retry", "event", e.ID(), "err", err)
			w.Header().Set("Retry-After", "1")
			problem(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		}
	})
}

// problem writes an RFC 9457 problem.
func problem(w http.ResponseWriter, status int, kind, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"type":"https://auctionflow.dev/problems/%s","title":%q,"status":%d,"detail":%q}`,
		kind, http.StatusText(status), status, detail)
}

// Sink is a trigger.Writer that sends each event it is given to a
// CloudEvents HTTP endpoint, in binary content mode, one request each, in
// order: the outputs of a function served by Handler, under Knative's
// SinkBinding the K_SINK of the function's environment. The Kafka topic a
// record names is dropped; the broker routes by type.
type Sink struct {
	client cloudevents.Client
	target string
}

var _ trigger.Writer = (*Sink)(nil)

// NewSink sends to target.
func NewSink(target string) (*Sink, error) {
	c, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(target))
	if err != nil {
		return nil, fmt.Errorf("cloudevents sink %s: %w", target, err)
	}
	return &Sink{client: c, target: target}, nil
}

// Write sends recs, and fails on the first the endpoint does not
// acknowledge (a 2xx); a retry of the batch sends them again, under the
// same event ids.
func (s *Sink) Write(ctx context.Context, recs ...kafkaio.Record) error {
	ctx = binding.WithForceBinary(ctx)
	for _, r := range recs {
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			return fmt.Errorf("sink: %w", err)
		}
		if res := s.client.Send(ctx, e); !cloudevents.IsACK(res) {
			return fmt.Errorf("send %s to %s: %w", e.ID(), s.target, res)
		}
	}
	return nil
}

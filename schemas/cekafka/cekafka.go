// Package cekafka implements the CloudEvents 1.0 Kafka protocol binding
// (spec v1.0.2, https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md)
// without depending on any Kafka client.
//
// Producers turn an event.Event into a Message with Encode (binary content
// mode: attributes in ce_ headers, data as the value) or EncodeStructured
// (structured content mode: the whole event as JSON in the value), then copy
// Key, Value and Headers into whatever record type their client uses.
// Consumers build a Message from the record they received and call Decode,
// which detects the content mode from the content-type header.
//
// The record key is the partition key: when the event carries the
// partitionkey extension, both encoders use its value as the message key, so
// all events with the same partition key land on the same partition, in order.
// As the spec requires (section 3.1), the key mapping does not modify the event:
// partitionkey still travels with it (as the ce_partitionkey header, or inside
// the JSON), and Decode takes it from there, never from the key.
package cekafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is the client-agnostic part of a Kafka record that the binding
// reads and writes: key, value and headers. Topic, partition and offset are
// left to the Kafka client.
type Message struct {
	Key     []byte
	Value   []byte
	Headers []Header
}

// Header returns the value of the first header whose key matches key, and
// whether there was one. Keys are compared case-insensitively, as the binding
// does for ce_ and content-type headers.
func (m Message) Header(key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, key) {
			return h.Value, true
		}
	}
	return nil, false
}

// ExtPartitionKey is the name of the CloudEvents partitioning extension
// attribute whose value becomes the Kafka message key.
const ExtPartitionKey = "partitionkey"

// ContentTypeStructured is the content-type of a structured-mode message:
// the JSON event format.
const ContentTypeStructured = "application/cloudevents+json"

// ErrNotCloudEvent is returned (wrapped) by Decode for a message that has
// neither a ce_specversion header nor a structured-mode content-type.
var ErrNotCloudEvent = errors.New("not a CloudEvent: no ce_specversion header and no structured content-type")

const (
	headerPrefix      = "ce_"
	headerContentType = "content-type"
	// cloudEventsMediaType prefixes every structured-mode content-type
	// (spec section 3).
	cloudEventsMediaType = "application/cloudevents"
)

// Encode encodes e in binary content mode. Every context attribute and
// extension becomes a ce_<name> header holding its canonical string form
// (time as RFC 3339 in UTC), except datacontenttype, which becomes the
// content-type header; the event data is the message value, as is. The key is
// the partitionkey extension, if set.
//
// Headers are sorted by key, so the output is deterministic: the ce_ headers
// in name order, then content-type.
func Encode(e event.Event) (Message, error) {
	if err := validate(e); err != nil {
		return Message{}, fmt.Errorf("encode cloudevent: %w", err)
	}
	key, err := partitionKey(e)
	if err != nil {
		return Message{}, fmt.Errorf("encode cloudevent: %w", err)
	}

	var headers []Header
	add := func(name, value string) {
		if value != "" {
			headers = append(headers, Header{Key: name, Value: []byte(value)})
		}
	}
	add(headerPrefix+"specversion", e.SpecVersion())
	add(headerPrefix+"id", e.ID())
	add(headerPrefix+"source", e.Source())
	add(headerPrefix+"type", e.Type())
	add(headerPrefix+"subject", e.Subject())
	add(headerPrefix+"dataschema", e.DataSchema())
	if t := e.Time(); !t.IsZero() {
		add(headerPrefix+"time", types.FormatTime(t))
	}
	add(headerContentType, e.DataContentType())
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			return Message{}, fmt.Errorf("encode cloudevent: extension %q: %w", name, err)
		}
		add(headerPrefix+name, s)
	}
	slices.SortFunc(headers, func(a, b Header) int { return strings.Compare(a.Key, b.Key) })

	return Message{Key: key, Value: e.Data(), Headers: headers}, nil
}

// EncodeStructured encodes e in structured content mode: the value is the
// event in the JSON event format and the only header is content-type
// ContentTypeStructured. The key is the partitionkey extension, if set.
func EncodeStructured(e event.Event) (Message, error) {
	if err := validate(e); err != nil {
		return Message{}, fmt.Errorf("encode cloudevent: %w", err)
	}
	key, err := partitionKey(e)
	if err != nil {
		return Message{}, fmt.Errorf("encode cloudevent: %w", err)
	}
	value, err := json.Marshal(e)
	if err != nil {
		return Message{}, fmt.Errorf("encode cloudevent: %w", err)
	}
	return Message{
		Key:     key,
		Value:   value,
		Headers: []Header{{Key: headerContentType, Value: []byte(ContentTypeStructured)}},
	}, nil
}

// Decode decodes a CloudEvent from m. A content-type starting with
// "application/cloudevents" selects structured mode (only the JSON format is
// supported); otherwise the message must be in binary mode and carry a
// ce_specversion header, or the error wraps ErrNotCloudEvent. Header names
// are matched case-insensitively. Only spec version 1.0 is accepted, and the
// decoded event must be valid. In binary mode the value becomes the event
// data byte for byte.
func Decode(m Message) (event.Event, error) {
	var (
		e   event.Event
		err error
	)
	if isStructured(m) {
		e, err = decodeStructured(m)
	} else {
		e, err = decodeBinary(m)
	}
	if err != nil {
		return event.Event{}, fmt.Errorf("decode cloudevent: %w", err)
	}
	if err := validate(e); err != nil {
		return event.Event{}, fmt.Errorf("decode cloudevent: %w", err)
	}
	return e, nil
}

func isStructured(m Message) bool {
	ct, ok := m.Header(headerContentType)
	return ok && strings.HasPrefix(strings.ToLower(string(ct)), cloudEventsMediaType)
}

func decodeStructured(m Message) (event.Event, error) {
	ct, _ := m.Header(headerContentType)
	mediaType, _, err := mime.ParseMediaType(string(ct))
	if err != nil {
		return event.Event{}, fmt.Errorf("content-type %q: %w", ct, err)
	}
	if mediaType != ContentTypeStructured {
		return event.Event{}, fmt.Errorf("unsupported event format %q", mediaType)
	}
	var e event.Event
	if err := json.Unmarshal(m.Value, &e); err != nil {
		return event.Event{}, err
	}
	return e, nil
}

func decodeBinary(m Message) (event.Event, error) {
	if _, ok := m.Header(headerPrefix + "specversion"); !ok {
		return event.Event{}, ErrNotCloudEvent
	}
	e := event.New()
	for _, h := range m.Headers {
		name := strings.ToLower(h.Key)
		value := string(h.Value)
		if name == headerContentType {
			e.SetDataContentType(value)
			continue
		}
		attr, ok := strings.CutPrefix(name, headerPrefix)
		if !ok {
			continue // not ours: tracing and other application headers
		}
		switch attr {
		case "specversion":
			if value != event.CloudEventsVersionV1 {
				return event.Event{}, fmt.Errorf("unsupported specversion %q", value)
			}
		case "id":
			e.SetID(value)
		case "source":
			e.SetSource(value)
		case "type":
			e.SetType(value)
		case "subject":
			e.SetSubject(value)
		case "dataschema":
			e.SetDataSchema(value)
		case "time":
			t, err := types.ParseTime(value)
			if err != nil {
				return event.Event{}, fmt.Errorf("%s: %w", h.Key, err)
			}
			e.SetTime(t)
		default:
			// Extension values arrive as strings; the types.To* helpers
			// convert them back (types.ToInteger, types.ToBool, ...).
			e.SetExtension(attr, value)
		}
	}
	if len(m.Value) > 0 {
		// Raw bytes, kept as they are; DataBase64 makes a later JSON
		// encoding lossless whatever the content type.
		if err := e.SetData(e.DataContentType(), m.Value); err != nil {
			return event.Event{}, err
		}
	}
	return e, nil
}

// validate checks e against the spec, and that it is a 1.0 event: the
// binary-mode header names above are those of CloudEvents 1.0.
func validate(e event.Event) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("invalid event: %w", err)
	}
	if v := e.SpecVersion(); v != event.CloudEventsVersionV1 {
		return fmt.Errorf("unsupported specversion %q", v)
	}
	return nil
}

// partitionKey returns the partitionkey extension as a message key, or nil.
func partitionKey(e event.Event) ([]byte, error) {
	v, ok := e.Extensions()[ExtPartitionKey]
	if !ok {
		return nil, nil
	}
	s, err := types.Format(v)
	if err != nil {
		return nil, fmt.Errorf("extension %q: %w", ExtPartitionKey, err)
	}
	return []byte(s), nil
}

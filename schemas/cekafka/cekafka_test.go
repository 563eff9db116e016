package cekafka_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/auctionflow/auction/schemas/cekafka"
)

// newEvent returns a valid event with only the required attributes set.
func newEvent(id string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetSource("/auction/edge")
	e.SetType("auction.bid.placed")
	return e
}

func TestRoundTrip(t *testing.T) {
	minimal := newEvent("min-1")

	full := newEvent("full-1")
	full.SetSubject("item-a1")
	full.SetTime(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC))
	full.SetDataSchema("https://schemas.example.com/bid.json")
	if err := full.SetData("application/json", []byte(`{"item":"a1","amount":4200}`)); err != nil {
		t.Fatal(err)
	}
	full.SetExtension("region", "eu-west-1")
	full.SetExtension("attempt", 3)
	full.SetExtension(cekafka.ExtPartitionKey, "item-a1")

	// Data set through the SDK's JSON codec rather than as raw bytes.
	codec := newEvent("codec-1")
	if err := codec.SetData("application/json", map[string]int{"amount": 7}); err != nil {
		t.Fatal(err)
	}

	// Bytes that are not valid UTF-8, in a non-UTC time zone.
	binary := newEvent("bin-1")
	binary.SetTime(time.Date(2024, 5, 6, 9, 8, 9, 0, time.FixedZone("CEST", 2*60*60)))
	if err := binary.SetData("application/octet-stream", []byte{0x00, 0xff, 0xfe, 0x80}); err != nil {
		t.Fatal(err)
	}
	binary.SetExtension(cekafka.ExtPartitionKey, "item-b2")

	modes := []struct {
		name   string
		encode func(event.Event) (cekafka.Message, error)
	}{
		{"binary", cekafka.Encode},
		{"structured", cekafka.EncodeStructured},
	}
	events := []struct {
		name    string
		event   event.Event
		wantKey []byte
	}{
		{"minimal", minimal, nil},
		{"all attributes", full, []byte("item-a1")},
		{"codec data", codec, nil},
		{"binary data", binary, []byte("item-b2")},
	}
	for _, mode := range modes {
		for _, tc := range events {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				m, err := mode.encode(tc.event)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				if !bytes.Equal(m.Key, tc.wantKey) {
					t.Errorf("key = %q, want %q", m.Key, tc.wantKey)
				}
				got, err := cekafka.Decode(m)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				assertSameEvent(t, got, tc.event)
			})
		}
	}
}

// assertSameEvent compares every context attribute, the extensions (by their
// canonical string form, the only form binary mode carries) and the data.
func assertSameEvent(t *testing.T, got, want event.Event) {
	t.Helper()
	attrs := []struct {
		name      string
		got, want string
	}{
		{"specversion", got.SpecVersion(), want.SpecVersion()},
		{"id", got.ID(), want.ID()},
		{"source", got.Source(), want.Source()},
		{"type", got.Type(), want.Type()},
		{"subject", got.Subject(), want.Subject()},
		{"dataschema", got.DataSchema(), want.DataSchema()},
		{"datacontenttype", got.DataContentType(), want.DataContentType()},
	}
	for _, a := range attrs {
		if a.got != a.want {
			t.Errorf("%s = %q, want %q", a.name, a.got, a.want)
		}
	}
	if !got.Time().Equal(want.Time()) {
		t.Errorf("time = %v, want %v", got.Time(), want.Time())
	}
	if g, w := formatExtensions(t, got), formatExtensions(t, want); !maps.Equal(g, w) {
		t.Errorf("extensions = %v, want %v", g, w)
	}
	if !bytes.Equal(got.Data(), want.Data()) {
		t.Errorf("data = %q, want %q", got.Data(), want.Data())
	}
}

func formatExtensions(t *testing.T, e event.Event) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatalf("extension %q: %v", name, err)
		}
		out[name] = s
	}
	return out
}

func TestEncodeHeaders(t *testing.T) {
	e := newEvent("h-1")
	e.SetExtension(cekafka.ExtPartitionKey, "item-a1")
	e.SetExtension("attempt", 3)

	tests := []struct {
		name string
		time time.Time
		want map[string]string
	}{
		{
			name: "no time",
			want: map[string]string{},
		},
		{
			name: "whole seconds",
			time: time.Date(2018, 4, 5, 3, 56, 24, 0, time.UTC),
			want: map[string]string{"ce_time": "2018-04-05T03:56:24Z"},
		},
		{
			name: "nanoseconds",
			time: time.Date(2018, 4, 5, 3, 56, 24, 123456789, time.UTC),
			want: map[string]string{"ce_time": "2018-04-05T03:56:24.123456789Z"},
		},
		{
			name: "converted to UTC",
			time: time.Date(2018, 4, 5, 5, 56, 24, 0, time.FixedZone("CEST", 2*60*60)),
			want: map[string]string{"ce_time": "2018-04-05T03:56:24Z"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.Clone()
			e.SetTime(tc.time)
			m, err := cekafka.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]string)
			for _, h := range m.Headers {
				got[h.Key] = string(h.Value)
			}
			want := map[string]string{
				"ce_specversion": "1.0",
				"ce_id":          "h-1",
				"ce_source":      "/auction/edge",
				"ce_type":        "auction.bid.placed",
				"ce_attempt":     "3",
				// Section 3.1: the key mapping must not drop the attribute.
				"ce_partitionkey": "item-a1",
			}
			maps.Copy(want, tc.want)
			if !maps.Equal(got, want) {
				t.Errorf("headers = %v, want %v", got, want)
			}
			if !slices.IsSortedFunc(m.Headers, func(a, b cekafka.Header) int { return strings.Compare(a.Key, b.Key) }) {
				t.Errorf("headers not sorted by key: %v", m.Headers)
			}
		})
	}
}

func TestEncodeInvalid(t *testing.T) {
	noID := event.New()
	noID.SetSource("/auction/edge")
	noID.SetType("auction.bid.placed")

	v03 := newEvent("v03-1")
	v03.SetSpecVersion(event.CloudEventsVersionV03)

	tests := []struct {
		name  string
		event event.Event
	}{
		{"missing id", noID},
		{"zero event", event.Event{}},
		{"specversion 0.3", v03},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := cekafka.Encode(tc.event); err == nil {
				t.Errorf("Encode = %v, nil; want error", m)
			}
			if m, err := cekafka.EncodeStructured(tc.event); err == nil {
				t.Errorf("EncodeStructured = %v, nil; want error", m)
			}
		})
	}
}

// h builds a header; it keeps the message literals below short.
func h(key, value string) cekafka.Header {
	return cekafka.Header{Key: key, Value: []byte(value)}
}

func TestDecodeSpecExamples(t *testing.T) {
	tests := []struct {
		name       string
		msg        cekafka.Message
		wantCT     string
		wantData   []byte
		wantExtVal string
	}{
		{
			// Kafka Protocol Binding v1.0.2, section 3.2.5 (binary mode
			// example), with an extension standing for "further attributes".
			name: "binary",
			msg: cekafka.Message{
				Key: []byte("mykey"),
				Headers: []cekafka.Header{
					h("ce_specversion", "1.0"),
					h("ce_type", "com.example.someevent"),
					h("ce_source", "/mycontext/subcontext"),
					h("ce_id", "1234-1234-1234"),
					h("ce_time", "2018-04-05T03:56:24Z"),
					h("content-type", "application/avro"),
					h("ce_comexampleextension1", "value"),
				},
				Value: []byte{0x02, 0x06, 'b', 'i', 'd'}, // stands for Avro-encoded data
			},
			wantCT:     "application/avro",
			wantData:   []byte{0x02, 0x06, 'b', 'i', 'd'},
			wantExtVal: "value",
		},
		{
			// Kafka Protocol Binding v1.0.2, section 3.3.4 (structured mode
			// example), with the XML data as a JSON string, as the JSON event
			// format requires for non-JSON data.
			name: "structured",
			msg: cekafka.Message{
				Key:     []byte("mykey"),
				Headers: []cekafka.Header{h("content-type", "application/cloudevents+json; charset=UTF-8")},
				Value: []byte(`{
					"specversion" : "1.0",
					"type" : "com.example.someevent",
					"source" : "/mycontext/subcontext",
					"id" : "1234-1234-1234",
					"time" : "2018-04-05T03:56:24Z",
					"datacontenttype" : "application/xml",
					"comexampleextension1" : "value",
					"data" : "<much wow=\"xml\"/>"
				}`),
			},
			wantCT:     "application/xml",
			wantData:   []byte(`<much wow="xml"/>`),
			wantExtVal: "value",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := cekafka.Decode(tc.msg)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := event.New()
			want.SetID("1234-1234-1234")
			want.SetSource("/mycontext/subcontext")
			want.SetType("com.example.someevent")
			want.SetTime(time.Date(2018, 4, 5, 3, 56, 24, 0, time.UTC))
			want.SetExtension("comexampleextension1", tc.wantExtVal)
			if err := want.SetData(tc.wantCT, tc.wantData); err != nil {
				t.Fatal(err)
			}
			// The message key is not mapped back to an attribute
			// (section 3.1), so no partitionkey appears.
			assertSameEvent(t, e, want)
		})
	}
}

func TestDecodeHeaderCase(t *testing.T) {
	tests := []struct {
		name string
		msg  cekafka.Message
	}{
		{
			name: "binary",
			msg: cekafka.Message{
				Headers: []cekafka.Header{
					h("CE_SpecVersion", "1.0"),
					h("Ce_Id", "1"),
					h("CE_SOURCE", "/s"),
					h("ce_Type", "t"),
					h("Ce_Region", "eu"),
					h("Content-Type", "text/plain"),
				},
				Value: []byte("hi"),
			},
		},
		{
			name: "structured",
			msg: cekafka.Message{
				Headers: []cekafka.Header{h("CONTENT-TYPE", "Application/CloudEvents+JSON")},
				Value:   []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","region":"eu","datacontenttype":"text/plain","data":"hi"}`),
			},
		},
	}
	want := event.New()
	want.SetID("1")
	want.SetSource("/s")
	want.SetType("t")
	want.SetExtension("region", "eu")
	if err := want.SetData("text/plain", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cekafka.Decode(tc.msg)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			assertSameEvent(t, got, want)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	// binary returns a binary-mode message with the given header replaced,
	// or dropped when value is empty.
	binary := func(key, value string) cekafka.Message {
		headers := []cekafka.Header{
			h("ce_specversion", "1.0"),
			h("ce_id", "1"),
			h("ce_source", "/s"),
			h("ce_type", "t"),
		}
		headers = slices.DeleteFunc(headers, func(x cekafka.Header) bool { return x.Key == key })
		if value != "" {
			headers = append(headers, h(key, value))
		}
		return cekafka.Message{Headers: headers}
	}
	structured := func(contentType, value string) cekafka.Message {
		return cekafka.Message{Headers: []cekafka.Header{h("content-type", contentType)}, Value: []byte(value)}
	}

	tests := []struct {
		name    string
		msg     cekafka.Message
		wantNot bool // want errors.Is(err, ErrNotCloudEvent)
	}{
		{"empty message", cekafka.Message{}, true},
		{"missing specversion", binary("ce_specversion", ""), true},
		{"plain JSON", structured("application/json", `{"id":"1"}`), true},
		{"unknown specversion", binary("ce_specversion", "2.0"), false},
		{"specversion 0.3", binary("ce_specversion", "0.3"), false},
		{"invalid time", binary("ce_time", "yesterday"), false},
		{"missing id", binary("ce_id", ""), false},
		{"missing source", binary("ce_source", ""), false},
		{"missing type", binary("ce_type", ""), false},
		{"invalid extension name", binary("ce_not_valid", "x"), false},
		{"structured bad JSON", structured(cekafka.ContentTypeStructured, `{`), false},
		{"structured missing id", structured(cekafka.ContentTypeStructured, `{"specversion":"1.0","source":"/s","type":"t"}`), false},
		{"structured unknown specversion", structured(cekafka.ContentTypeStructured, `{"specversion":"2.0","id":"1","source":"/s","type":"t"}`), false},
		{"structured unsupported format", structured("application/cloudevents+avro", "\x00"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := cekafka.Decode(tc.msg)
			if err == nil {
				t.Fatalf("Decode = %v, nil; want error", e)
			}
			if got := errors.Is(err, cekafka.ErrNotCloudEvent); got != tc.wantNot {
				t.Errorf("errors.Is(%q, ErrNotCloudEvent) = %v, want %v", err, got, tc.wantNot)
			}
			if !strings.HasPrefix(err.Error(), "decode cloudevent: ") {
				t.Errorf("error = %q, want prefix %q", err, "decode cloudevent: ")
			}
		})
	}
}

func TestMessageHeader(t *testing.T) {
	m := cekafka.Message{Headers: []cekafka.Header{h("a", "1"), h("B", "2"), h("b", "3")}}
	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"a", "1", true},
		{"b", "2", true}, // first match, case-insensitively
		{"c", "", false},
	}
	for _, tc := range tests {
		got, ok := m.Header(tc.key)
		if string(got) != tc.want || ok != tc.wantOK {
			t.Errorf("Header(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.wantOK)
		}
	}
}

func ExampleEncode() {
	e := event.New()
	e.SetID("bid-42")
	e.SetSource("/auction/edge")
	e.SetType("auction.bid.placed")
	e.SetTime(time.Date(2018, 4, 5, 3, 56, 24, 0, time.UTC))
	e.SetExtension(cekafka.ExtPartitionKey, "item-7")
	if err := e.SetData("application/json", []byte(`{"amount":4200}`)); err != nil {
		panic(err)
	}

	m, err := cekafka.Encode(e)
	if err != nil {
		panic(err)
	}
	fmt.Printf("key: %s\n", m.Key)
	for _, h := range m.Headers {
		fmt.Printf("%s: %s\n", h.Key, h.Value)
	}
	fmt.Printf("value: %s\n", m.Value)
	// Output:
	// key: item-7
	// ce_id: bid-42
	// ce_partitionkey: item-7
	// ce_source: /auction/edge
	// ce_specversion: 1.0
	// ce_time: 2018-04-05T03:56:24Z
	// ce_type: auction.bid.placed
	// content-type: application/json
	// value: {"amount":4200}
}

package schemas_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// topicOf is the catalog topic that carries eventType.
func topicOf(t *testing.T, eventType string) string {
	t.Helper()
	for _, tp := range schemas.Catalog() {
		for _, et := range tp.EventTypes {
			if et == eventType {
				return tp.Name
			}
		}
	}
	t.Fatalf("no topic of the catalog carries %s", eventType)
	return ""
}

// golden is the golden data of eventType and the record key it travels
// under (the item id, the user of a notification, the subject of a refusal).
func golden(t *testing.T, eventType string) (json.RawMessage, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", eventType+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ids struct {
		ItemID    string `json:"itemId"`
		UserID    string `json:"userId"`
		SubjectID string `json:"subjectId"`
	}
	if err := json.Unmarshal(data, &ids); err != nil {
		t.Fatal(err)
	}
	switch eventType {
	case schemas.TypeNotificationSent:
		return data, ids.UserID
	case schemas.TypeEventRejected:
		return data, ids.SubjectID
	}
	return data, ids.ItemID
}

// record encodes an event of eventType with data, with subject as its
// subject and key as its record key.
func record(t *testing.T, eventType, subject, key string, data json.RawMessage) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{ID: "ev-1", Source: "/test", Subject: subject, Key: key, Time: time.Now()}, data)
	if err != nil {
		t.Fatalf("NewEvent(%s): %v", eventType, err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatalf("Encode(%s): %v", eventType, err)
	}
	return m
}

// TestReadEveryType reads the golden event of every type off its topic,
// decoded into its Go type, and refuses it under another key.
func TestReadEveryType(t *testing.T) {
	for _, typ := range schemas.Types() {
		t.Run(typ, func(t *testing.T) {
			data, key := golden(t, typ)
			topic := topicOf(t, typ)
			r, err := schemas.Read(topic, record(t, typ, key, key, data))
			if err != nil {
				t.Fatalf("Read(%s): got %v, want nil", topic, err)
			}
			if r.Event.Type() != typ || r.Data == nil || reflect.TypeOf(r.Data).Kind() != reflect.Pointer {
				t.Fatalf("Read: got type %s data %T, want %s and a pointer to its data", r.Event.Type(), r.Data, typ)
			}
			// The data decodes to what the golden file says.
			back, err := json.Marshal(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal(data, &want)
			_ = json.Unmarshal(back, &got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("data: got %s, want %s", back, data)
			}

			_, err = schemas.Read(topic, record(t, typ, key, "someone-else", data))
			if err == nil || !strings.Contains(err.Error(), "under key") {
				t.Errorf("Read under another key: got %v, want a refusal naming the key", err)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	bid, item := golden(t, schemas.TypeBidPlaced)
	done, _ := golden(t, schemas.TypeItemCompleted)
	invalid, err := os.ReadFile(filepath.Join("testdata", "invalid", "item-completed-sold-without-winner.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, topic string
		msg         cekafka.Message
		errHas      string
	}{
		{"not a CloudEvent", schemas.TopicBids, cekafka.Message{Key: []byte(item), Value: []byte("{not an event")}, ""},
		{"a type its topic does not carry", schemas.TopicItems, record(t, schemas.TypeBidPlaced, item, item, bid), "does not belong on"},
		{"a topic outside the catalog", "elsewhere", record(t, schemas.TypeBidPlaced, item, item, bid), "does not belong on"},
		{"data against its schema", schemas.TopicItemComplete,
			record(t, schemas.TypeItemCompleted, item, item, invalid), "invalid " + schemas.TypeItemCompleted},
		{"under the subject's key but another item's data", schemas.TopicItemComplete,
			record(t, schemas.TypeItemCompleted, "itm-other", "itm-other", done), "under key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schemas.Read(tt.topic, tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Read: got %v, want an error mentioning %q", err, tt.errHas)
			}
		})
	}
}

func TestReadAs(t *testing.T) {
	bid, item := golden(t, schemas.TypeBidPlaced)
	msg := record(t, schemas.TypeBidPlaced, item, item, bid)
	e, b, err := schemas.ReadAs[schemas.BidPlaced](schemas.TopicBids, schemas.TypeBidPlaced, msg)
	if err != nil || e.ID() != "ev-1" || b.ItemID != item || b.BidID == "" {
		t.Fatalf("ReadAs: got %s, %+v, %v, want event ev-1 with the bid on %s", e.ID(), b, err, item)
	}
	// auction.bids also carries close-dues; a reader of bids refuses them.
	_, _, err = schemas.ReadAs[schemas.CloseDue](schemas.TopicBids, schemas.TypeCloseDue, msg)
	if err == nil || !strings.Contains(err.Error(), `want "`+schemas.TypeCloseDue+`"`) || !errors.Is(err, schemas.ErrOtherType) {
		t.Fatalf("ReadAs of another type: got %v, want a refusal that is ErrOtherType", err)
	}
	// A type the topic does not carry is not merely another type.
	if _, _, err = schemas.ReadAs[schemas.BidPlaced](schemas.TopicItems, schemas.TypeItemPlaced, msg); err == nil || errors.Is(err, schemas.ErrOtherType) {
		t.Fatalf("ReadAs of a type foreign to the topic: got %v, want a refusal that is not ErrOtherType", err)
	}
	// The Go type must be the type's own.
	_, _, err = schemas.ReadAs[schemas.CloseDue](schemas.TopicBids, schemas.TypeBidPlaced, msg)
	if err == nil {
		t.Fatal("ReadAs into another Go type: got nil, want an error")
	}
}

func TestSharedValidator(t *testing.T) {
	a, err := schemas.SharedValidator()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := schemas.SharedValidator()
	if a != b {
		t.Fatal("SharedValidator: got two validators, want the process's one")
	}
}

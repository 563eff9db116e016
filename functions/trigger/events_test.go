package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// thing is the data of the test events.
type thing struct {
	N    int  `json:"n"`
	Fail bool `json:"fail,omitempty"`
}

const thingType = "test.thing.v1"

// thingMessage encodes a thing event with id "thing-<n>" under key.
func thingMessage(t testing.TB, eventType, key string, d thing) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{
		ID: fmt.Sprintf("thing-%d", d.N), Source: "/test", Subject: key, Time: time.Now(),
	}, d)
	if err != nil {
		t.Fatalf("NewEvent: got %v, want nil", err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatalf("Encode: got %v, want nil", err)
	}
	return m
}

// undecodable is a record that is no CloudEvent at all.
func undecodable(key string) cekafka.Message {
	return cekafka.Message{Key: []byte(key), Value: []byte("{not an event")}
}

func TestEvents(t *testing.T) {
	good := func(n int) trigger.Record {
		return trigger.Record{Offset: int64(n), Message: thingMessage(t, thingType, "k", thing{N: n})}
	}
	wrongType := trigger.Record{Offset: 9, Message: thingMessage(t, "test.other.v1", "k", thing{N: 9})}
	badData := good(8)
	badData.Value = []byte(`{"n": "eight"}`)
	junk := trigger.Record{Offset: 7, Message: undecodable("k")}
	errFn := errors.New("fn failed")

	tests := []struct {
		name      string
		batch     []trigger.Record
		fnErr     error
		wantCalls [][]int // the N of each event fn got, per call
		wantIndex int     // -1: no *RecordError
		wantErr   error   // when there is no *RecordError
	}{
		{name: "all good", batch: []trigger.Record{good(0), good(1), good(2)},
			wantCalls: [][]int{{0, 1, 2}}, wantIndex: -1},
		{name: "undecodable after two: fn gets the two first", batch: []trigger.Record{good(0), good(1), junk, good(3)},
			wantCalls: [][]int{{0, 1}}, wantIndex: 2},
		{name: "wrong type first: fn not called", batch: []trigger.Record{wrongType, good(1)},
			wantCalls: nil, wantIndex: 0},
		{name: "data not a thing", batch: []trigger.Record{good(0), badData},
			wantCalls: [][]int{{0}}, wantIndex: 1},
		{name: "fn fails on the events before a bad record: its error, not the record's",
			batch: []trigger.Record{good(0), junk}, fnErr: errFn,
			wantCalls: [][]int{{0}}, wantIndex: -1, wantErr: errFn},
		{name: "fn's error is returned as is", batch: []trigger.Record{good(0), good(1)}, fnErr: errFn,
			wantCalls: [][]int{{0, 1}}, wantIndex: -1, wantErr: errFn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls [][]int
			h := trigger.Events(thingType, func(_ context.Context, events []trigger.Event[thing]) error {
				var ns []int
				for i, e := range events {
					if e.ID != fmt.Sprintf("thing-%d", e.Data.N) || e.Subject != "k" || e.Time.IsZero() {
						t.Errorf("event %d: got id %q subject %q time %v, want thing-%d, k, a time", i, e.ID, e.Subject, e.Time, e.Data.N)
					}
					if e.Record.Offset != int64(e.Data.N) {
						t.Errorf("event %d: got record offset %d, want %d", i, e.Record.Offset, e.Data.N)
					}
					ns = append(ns, e.Data.N)
				}
				calls = append(calls, ns)
				return tt.fnErr
			})
			err := h(context.Background(), tt.batch)
			if !slices.EqualFunc(calls, tt.wantCalls, slices.Equal) {
				t.Errorf("fn calls: got %v, want %v", calls, tt.wantCalls)
			}
			var re *trigger.RecordError
			switch {
			case tt.wantIndex >= 0:
				if !errors.As(err, &re) || re.Index != tt.wantIndex || !re.Permanent || re.Err == nil {
					t.Fatalf("error: got %#v, want a permanent *RecordError at %d", err, tt.wantIndex)
				}
			case !errors.Is(err, tt.wantErr) || errors.As(err, &re):
				t.Fatalf("error: got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

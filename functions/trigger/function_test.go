package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// outputs is an output topic that keeps what it is given, or fails.
type outputs struct {
	mu   sync.Mutex
	err  error
	recs []kafkaio.Record
}

func (o *outputs) Write(_ context.Context, recs ...kafkaio.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	o.recs = append(o.recs, recs...)
	return nil
}

// causes lists "<output id> <- <causation id>" for each record written.
func (o *outputs) causes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range o.recs {
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			t.Fatal(err)
		}
		cause, _ := e.Extensions()[schemas.ExtCausationID].(string)
		out = append(out, fmt.Sprintf("%s@%s <- %s", e.ID(), r.Topic, cause))
	}
	return out
}

// closeDue is close-due n of item "item-<n>", under key.
func closeDue(t *testing.T, n int, key string) trigger.Record {
	t.Helper()
	item := fmt.Sprintf("item-%d", n)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return eventRecord(t, n, schemas.TypeCloseDue, schemas.Meta{
		ID: item + ".close-due", Source: "/test", Subject: item, Key: key, Time: at,
	}, schemas.CloseDue{ItemID: item, EndsAt: at, CloseAt: at})
}

// bidPlaced is a bid on item "item-<n>": an event auction.bids carries
// besides close-dues.
func bidPlaced(t *testing.T, n int) trigger.Record {
	t.Helper()
	item := fmt.Sprintf("item-%d", n)
	at := time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC)
	return eventRecord(t, n, schemas.TypeBidPlaced, schemas.Meta{
		ID: item + ".bid", Source: "/test", Subject: item, Key: item, Time: at,
	}, schemas.BidPlaced{BidID: item + ".bid", ItemID: item, Bidder: schemas.Party{ID: "u-1", Name: "One"},
		Amount: schemas.Money{Amount: 100, Currency: "EUR"}, PlacedAt: at})
}

// eventRecord is the event of type and data as the record at offset n.
func eventRecord(t *testing.T, n int, typ string, meta schemas.Meta, data any) trigger.Record {
	t.Helper()
	e, err := schemas.NewEvent(typ, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return trigger.Record{Topic: "any-name", Offset: int64(n), Message: m}
}

// echo answers each close-due with one counted event, and fails on the
// event at failAt (if any) with failErr.
func echo(failAt int, failErr error) trigger.Func[schemas.CloseDue] {
	return func(_ context.Context, evs []trigger.Event[schemas.CloseDue]) ([]trigger.Output, error) {
		var outs []trigger.Output
		for i, e := range evs {
			if i == failAt {
				return outs, &trigger.RecordError{Index: i, Err: failErr}
			}
			outs = append(outs, trigger.Output{
				Topic: schemas.TopicAnalytics, Type: schemas.TypeAnalyticsCounted,
				Meta: schemas.Meta{ID: e.Data.ItemID + ".out", Source: "/test/echo", Subject: e.Data.ItemID, Time: e.Time},
				Data: schemas.AnalyticsCounted{ItemID: e.Data.ItemID, Category: "c", CountedAt: e.Time}, Cause: i,
			})
		}
		return outs, nil
	}
}

func TestFunction(t *testing.T) {
	errFn := errors.New("fn failed")
	tests := []struct {
		name      string
		batch     []trigger.Record
		fn        trigger.Func[schemas.CloseDue]
		writeErr  error
		want      []string
		wantIndex int // of a *RecordError; -1 for none
		wantErr   string
	}{
		{name: "outputs caused by their inputs", batch: []trigger.Record{closeDue(t, 0, "item-0"), closeDue(t, 1, "item-1")},
			fn: echo(-1, nil), wantIndex: -1,
			want: []string{"item-0.out@auction.analytics <- item-0.close-due", "item-1.out@auction.analytics <- item-1.close-due"}},
		{name: "a record under another key: refused after the events before it, as the processor refuses it",
			batch: []trigger.Record{closeDue(t, 0, "item-0"), closeDue(t, 1, "item-0"), closeDue(t, 2, "item-2")},
			fn:    echo(-1, nil), wantIndex: 1, wantErr: "under key",
			want: []string{"item-0.out@auction.analytics <- item-0.close-due"}},
		{name: "a function's record error: the outputs before it are written",
			batch: []trigger.Record{closeDue(t, 0, "item-0"), closeDue(t, 1, "item-1")},
			fn:    echo(1, errFn), wantIndex: 1, wantErr: errFn.Error(),
			want: []string{"item-0.out@auction.analytics <- item-0.close-due"}},
		{name: "events of the topic's other types are passed over",
			batch: []trigger.Record{bidPlaced(t, 0), closeDue(t, 1, "item-1"), bidPlaced(t, 2), closeDue(t, 3, "item-3")},
			fn:    echo(-1, nil), wantIndex: -1,
			want: []string{"item-1.out@auction.analytics <- item-1.close-due", "item-3.out@auction.analytics <- item-3.close-due"}},
		{name: "a function's record error among passed-over events names its record in the batch",
			batch: []trigger.Record{bidPlaced(t, 0), closeDue(t, 1, "item-1"), bidPlaced(t, 2), closeDue(t, 3, "item-3")},
			fn:    echo(1, errFn), wantIndex: 3, wantErr: errFn.Error(),
			want: []string{"item-1.out@auction.analytics <- item-1.close-due"}},
		{name: "outputs that cannot be written fail the batch",
			batch: []trigger.Record{closeDue(t, 0, "item-0")}, fn: echo(-1, nil), writeErr: errFn,
			wantIndex: -1, wantErr: errFn.Error()},
		{name: "an output caused by no event of the batch is a bug",
			batch: []trigger.Record{closeDue(t, 0, "item-0")},
			fn: func(context.Context, []trigger.Event[schemas.CloseDue]) ([]trigger.Output, error) {
				return []trigger.Output{{Topic: schemas.TopicAnalytics, Cause: 3}}, nil
			}, wantIndex: -1, wantErr: "cause 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &outputs{err: tt.writeErr}
			h := trigger.Function(schemas.TopicBids, schemas.TypeCloseDue, out, tt.fn)
			err := h(t.Context(), tt.batch)
			var re *trigger.RecordError
			switch {
			case tt.wantIndex >= 0:
				if !errors.As(err, &re) || re.Index != tt.wantIndex || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want a *RecordError at %d mentioning %q", err, tt.wantIndex, tt.wantErr)
				}
			case tt.wantErr != "":
				if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want one mentioning %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("error: got %v, want nil", err)
			}
			if got := out.causes(t); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("written: got %v, want %v", got, tt.want)
			}
		})
	}
}

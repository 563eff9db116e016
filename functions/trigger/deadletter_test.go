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
)

func TestDeadLetter(t *testing.T) {
	errBoom := errors.New("boom")
	refuse := func(i, attempts int) error {
		return &trigger.RecordError{Index: i, Err: errBoom, Permanent: true, Attempts: attempts}
	}
	tests := []struct {
		name string
		// answers[i] answers call i (nil: success).
		answers     []error
		wantCalls   []string
		wantLetters []string // "offset/attempts" of each dead letter written
		wantErr     *gaveUp  // nil: the batch succeeds
		wantCause   error
	}{
		{
			name: "a refused record is dead-lettered and the rest goes on", answers: []error{refuse(2, 3)},
			wantCalls: []string{"0-4", "3-4"}, wantLetters: []string{"2/3"},
		},
		{
			name: "poison after poison", answers: []error{refuse(1, 1), refuse(0, 4)},
			wantCalls: []string{"0-4", "2-4", "3-4"}, wantLetters: []string{"1/1", "2/4"},
		},
		{
			name: "a record refused without attempts counts one", answers: []error{refuse(4, 0)},
			wantCalls: []string{"0-4"}, wantLetters: []string{"4/1"},
		},
		{
			name:      "a record error that is not permanent is passed on, at its index in the batch",
			answers:   []error{refuse(1, 1), &trigger.RecordError{Index: 1, Err: errBoom}},
			wantCalls: []string{"0-4", "2-4"}, wantLetters: []string{"1/1"},
			wantErr: &gaveUp{Index: 3}, wantCause: errBoom,
		},
		{
			name:      "a failed call after a dead letter reports the records before it done",
			answers:   []error{refuse(1, 1), errBoom},
			wantCalls: []string{"0-4", "2-4"}, wantLetters: []string{"1/1"},
			wantErr: &gaveUp{Index: 2}, wantCause: errBoom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			h := &fake{answer: func([]trigger.Record) error {
				calls++
				if calls <= len(tt.answers) {
					return tt.answers[calls-1]
				}
				return nil
			}}
			out := &outputs{}
			var told []string
			dl := trigger.DeadLetter(trigger.DeadLetterPolicy{Writer: out, OnDeadLetter: func(rec trigger.Record) {
				told = append(told, fmt.Sprint(rec.Offset))
			}})
			err := dl(h.handle)(context.Background(), batchOf(5, time.Now()))

			if got := h.called(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls: got %v, want %v", got, tt.wantCalls)
			}
			var letters, offsets []string
			for _, r := range out.recs {
				off, _ := r.Header(schemas.HeaderDLQOffset)
				att, _ := r.Header(schemas.HeaderDLQAttempts)
				letters = append(letters, string(off)+"/"+string(att))
				offsets = append(offsets, string(off))
				if r.Topic != schemas.TopicDeadLetter {
					t.Errorf("dead letter topic: got %q, want %q", r.Topic, schemas.TopicDeadLetter)
				}
			}
			if !slices.Equal(letters, tt.wantLetters) {
				t.Errorf("dead letters: got %v, want %v", letters, tt.wantLetters)
			}
			if !slices.Equal(told, offsets) {
				t.Errorf("OnDeadLetter heard of %v, want the records written, %v", told, offsets)
			}
			checkGaveUp(t, err, tt.wantErr, tt.wantCause)
		})
	}
}

// TestDeadLetterOrigin: the dead letter is the record as it came, plus its
// origin and the failure in headers, and goes to the policy's topic.
func TestDeadLetterOrigin(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	batch := batchOf(1, at)
	batch[0].Topic, batch[0].Partition, batch[0].Offset, batch[0].Key = "in", 3, 41, []byte("item-7")
	out := &outputs{}
	c := &clock{now: at}
	dl := trigger.DeadLetter(trigger.DeadLetterPolicy{Writer: out, Topic: "dlq", Consumer: "fn", Pacing: c.pacing(0, 0)})
	h := func(context.Context, []trigger.Record) error {
		return &trigger.RecordError{Index: 0, Err: errors.New("no such item"), Permanent: true, Attempts: 2}
	}
	if err := dl(h)(context.Background(), batch); err != nil {
		t.Fatalf("DeadLetter: got %v, want nil", err)
	}
	if len(out.recs) != 1 {
		t.Fatalf("dead letters: got %d, want 1", len(out.recs))
	}
	got := out.recs[0]
	if got.Topic != "dlq" || string(got.Key) != "item-7" || string(got.Value) != "0" {
		t.Errorf("dead letter: got topic %q key %q value %q, want dlq, item-7, 0", got.Topic, got.Key, got.Value)
	}
	for _, want := range []struct{ key, value string }{
		{schemas.HeaderDLQTopic, "in"}, {schemas.HeaderDLQPartition, "3"}, {schemas.HeaderDLQOffset, "41"},
		{schemas.HeaderDLQError, "no such item"}, {schemas.HeaderDLQAttempts, "2"}, {schemas.HeaderDLQConsumer, "fn"},
		{schemas.HeaderDLQTime, at.Format(time.RFC3339Nano)},
	} {
		if v, _ := got.Header(want.key); string(v) != want.value {
			t.Errorf("header %s: got %q, want %q", want.key, v, want.value)
		}
	}
}

// TestDeadLetterUnwritable: a dead letter the cluster does not take is
// written again, with backoff, until DeadLetter is stopped; then the record
// is left undone and nothing after it is called.
func TestDeadLetterUnwritable(t *testing.T) {
	errDown := errors.New("dead-letter topic down")
	out := &outputs{err: errDown}
	c := &clock{goOn: 2}
	told := 0
	dl := trigger.DeadLetter(trigger.DeadLetterPolicy{Writer: out, Pacing: c.pacing(100*time.Millisecond, 150*time.Millisecond),
		OnDeadLetter: func(trigger.Record) { told++ }})
	h := &fake{answer: holding(1, &trigger.RecordError{Index: 1, Err: errors.New("boom"), Permanent: true})}
	err := dl(h.handle)(context.Background(), batchOf(3, time.Now()))

	checkGaveUp(t, err, &gaveUp{Index: 1}, errDown)
	if want := []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond}; !slices.Equal(c.waits, want) {
		t.Errorf("waits between writes: got %v, want %v (three failed writes, the wait after the third stopped)", c.waits, want)
	}
	if got, want := h.called(), []string{"0-2"}; !slices.Equal(got, want) {
		t.Errorf("calls: got %v, want %v", got, want)
	}
	if told != 0 {
		t.Errorf("OnDeadLetter: heard of %d records, want none", told)
	}
}

// TestDeadLetterCopies: a handler that reorders its records changes
// neither the caller's batch nor which record is dead-lettered.
func TestDeadLetterCopies(t *testing.T) {
	batch := batchOf(3, time.Now())
	h := func(_ context.Context, call []trigger.Record) error {
		first := call[0].Offset
		slices.Reverse(call)
		if first == 0 {
			return &trigger.RecordError{Index: 0, Err: errors.New("bad"), Permanent: true}
		}
		return nil
	}
	out := &outputs{}
	if err := trigger.DeadLetter(trigger.DeadLetterPolicy{Writer: out})(h)(context.Background(), batch); err != nil {
		t.Fatalf("DeadLetter: got %v, want nil", err)
	}
	if len(out.recs) != 1 {
		t.Fatalf("dead letters: got %d, want 1", len(out.recs))
	}
	if off, _ := out.recs[0].Header(schemas.HeaderDLQOffset); string(off) != "0" {
		t.Errorf("dead letter origin offset: got %s, want 0", off)
	}
	if got := offsets(batch); got != "0-2" {
		t.Errorf("caller's batch after the calls: got %s, want 0-2", got)
	}
}

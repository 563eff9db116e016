package closer_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/functions/closer"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

const (
	// grace and lead keep the tests short: items end lead after they are
	// written and close grace later.
	grace = 100 * time.Millisecond
	lead  = 300 * time.Millisecond
	// waitTimeout bounds every wait on the broker; generous for slow CI.
	waitTimeout = 30 * time.Second
	// promptly bounds how long an item already past may take to close.
	promptly   = 5 * time.Second
	partitions = 3
)

// TestCloseDue: every item gets exactly one close-due, stamped no earlier
// than endsAt+grace; items already past close at once.
func TestCloseDue(t *testing.T) {
	h := newHarness(t)
	c := h.start(t)

	now := time.Now()
	tests := []struct {
		name   string
		endsIn time.Duration // from now
		prompt bool          // closeAt is past when written: must close at once
	}{
		{name: "due-soon", endsIn: lead},
		{name: "due-later", endsIn: 2 * lead},
		{name: "ended-within-grace", endsIn: -grace / 2},
		{name: "ended-an-hour-ago", endsIn: -time.Hour, prompt: true},
	}
	var ids []string
	for _, tc := range tests {
		ids = append(ids, h.id(tc.name))
	}
	onBids := newReader(t, h.brokers, schemas.TopicBids, ids...)
	written := time.Now()
	for i, tc := range tests {
		h.place(t, ids[i], now.Add(tc.endsIn))
	}

	onBids.until(t, "a close-due for every item", hasKeys(ids...))
	eventually(t, "every close-due acknowledged", func() bool { return c.Pending() == 0 })
	c.stop()
	got := closeDues(t, onBids.drain(t))

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endsAt := now.Add(tc.endsIn)
			if n := len(got[ids[i]]); n != 1 {
				t.Fatalf("got %d close-dues, want exactly 1", n)
			}
			d := got[ids[i]][0]
			checkCloseDue(t, d, ids[i], endsAt)
			if late := d.Time.Sub(written); tc.prompt && late > promptly {
				t.Errorf("got close-due %s after the item was written, want within %s (its closeAt was past)", late, promptly)
			}
		})
	}
}

// TestCloseDueOfAnExtension: a soft close extension the processor wrote to
// auction.items is one more close-due, at the new end plus grace, as an
// event of its own; the item's own close-due still comes (the processor
// ignores the close-due of an end the auction moved on from).
func TestCloseDueOfAnExtension(t *testing.T) {
	h := newHarness(t)
	c := h.start(t)
	id := h.id("extended")
	onBids := newReader(t, h.brokers, schemas.TopicBids, id)
	first := time.Now().Add(lead)
	moved := first.Add(lead)
	h.place(t, id, first)
	ext := h.encode(t, schemas.TypeItemExtended, id, schemas.ItemExtended{ItemID: id, EndsAt: moved.UTC(), BidID: "bid-late"})
	h.write(t, ext)

	onBids.until(t, "both close-dues", func(recs []record) bool { return len(closeDues(t, recs)[id]) == 2 })
	eventually(t, "every close-due acknowledged", func() bool { return c.Pending() == 0 })
	c.stop()
	got := closeDues(t, onBids.drain(t))[id]
	if len(got) != 2 {
		t.Fatalf("got %d close-dues, want 2", len(got))
	}
	checkCloseDue(t, got[0], id, first)
	last := got[1]
	if want := id + ".close-due@" + moved.UTC().Format(time.RFC3339Nano); last.ID != want {
		t.Errorf("close-due of the new end: got id %q, want %q", last.ID, want)
	}
	if !last.EndsAt.Equal(moved) || last.Time.Before(moved.Add(grace)) {
		t.Errorf("close-due of the new end: got endsAt %s stamped %s, want %s no earlier than %s",
			last.EndsAt, last.Time, moved, moved.Add(grace))
	}
}

// TestCloseDueAfterRestart: a closer stopped before an item is due commits a
// watermark that keeps the item, so the next closer still closes it.
func TestCloseDueAfterRestart(t *testing.T) {
	h := newHarness(t)
	first := h.start(t)

	late := h.id("late")
	lateEnds := time.Now().Add(3 * time.Second)
	var early []string
	for i := range 6 {
		early = append(early, h.id("early-"+strconv.Itoa(i)))
	}
	all := append([]string{late}, early...)
	onBids := newReader(t, h.brokers, schemas.TopicBids, all...)
	items := newReader(t, h.brokers, schemas.TopicItems, all...)
	// The long auction first: early items that share its partition lie
	// above it, beyond the watermark it holds.
	h.place(t, late, lateEnds)
	for _, id := range early {
		h.place(t, id, time.Now().Add(lead))
	}
	where := byKey(items.until(t, "every item on "+schemas.TopicItems, hasKeys(all...)))

	onBids.until(t, "close-dues of the early items", hasKeys(early...))
	// The first closer holds the late item, and only it.
	eventually(t, "the first closer to hold only the late item", func() bool { return first.Pending() == 1 })
	first.stop()
	if stopped, closeAt := time.Now(), lateEnds.Add(grace); !stopped.Before(closeAt) {
		t.Fatalf("the first closer stopped at %s, after the late item's closeAt %s: too slow to test a restart",
			stopped.Format(time.RFC3339Nano), closeAt.Format(time.RFC3339Nano))
	}
	if n := len(closeDues(t, onBids.drain(t))[late]); n != 0 {
		t.Fatalf("got %d close-dues for the late item before the restart, want 0", n)
	}

	second := h.start(t)
	onBids.until(t, "a close-due for the late item after the restart", hasKeys(late))
	second.stop()
	got := closeDues(t, onBids.drain(t))

	if n := len(got[late]); n != 1 {
		t.Fatalf("got %d close-dues for the late item, want exactly 1", n)
	}
	checkCloseDue(t, got[late][0], late, lateEnds)
	// Early items closed before the restart may close again: the second
	// closer reads from the first one's low watermark, the late item's
	// offset, so early items after it in its partition are read again and,
	// their closeAt being past, emitted again (the processor emits nothing for the
	// repeat). Those must be repeated; which items they are depends on how
	// the ids hash, so for the others at least one is all the test can ask.
	repeated := 0
	for _, id := range early {
		want := 1
		if where[id].Partition == where[late].Partition && where[id].Offset > where[late].Offset {
			want = 2
		}
		if n := len(got[id]); n < want {
			t.Errorf("%s: got %d close-dues, want at least %d", id, n, want)
		}
		if len(got[id]) > 1 {
			repeated++
		}
	}
	t.Logf("%d of %d early items were closed again after the restart", repeated, len(early))
}

// TestDeadLetter: records the closer cannot read go to auction.dead-letter
// with their origin, and items after them still close.
func TestDeadLetter(t *testing.T) {
	h := newHarness(t)
	c := h.start(t)

	validID := h.id("valid")
	invalid := h.item(h.id("invalid"), time.Now().Add(lead))
	invalid.Title = ""
	misplaced := h.item(h.id("misplaced"), time.Now().Add(lead))
	// itemID is the id a close-due for the record would carry, if the
	// closer wrongly scheduled it.
	tests := []struct {
		name   string
		msg    cekafka.Message
		itemID string
		errHas string
	}{
		{
			name:   "not a CloudEvent",
			msg:    cekafka.Message{Key: []byte(h.id("garbage")), Value: []byte("\x00\xffnot a cloudevent{")},
			itemID: h.id("garbage"),
			errHas: "not a CloudEvent",
		},
		{
			name: "another event type",
			msg: h.encode(t, schemas.TypeCloseDue, h.id("wrong-type"), schemas.CloseDue{
				ItemID: h.id("wrong-type"), EndsAt: time.Now(), CloseAt: time.Now(),
			}),
			itemID: h.id("wrong-type"),
			errHas: "does not belong on " + schemas.TopicItems,
		},
		{
			name:   "item failing its schema",
			msg:    h.encode(t, schemas.TypeItemPlaced, invalid.ItemID, invalid),
			itemID: invalid.ItemID,
			errHas: `"/title"`,
		},
		{
			name:   "item under another key",
			msg:    withKey(h.encode(t, schemas.TypeItemPlaced, misplaced.ItemID, misplaced), h.id("other-key")),
			itemID: misplaced.ItemID,
			errHas: "under key",
		},
	}
	var bad, badItems []string
	for _, tc := range tests {
		bad = append(bad, string(tc.msg.Key))
		badItems = append(badItems, tc.itemID)
	}
	items := newReader(t, h.brokers, schemas.TopicItems, bad...)
	dead := newReader(t, h.brokers, schemas.TopicDeadLetter, bad...)
	onBids := newReader(t, h.brokers, schemas.TopicBids, append([]string{validID}, badItems...)...)
	for _, tc := range tests {
		h.write(t, tc.msg)
	}
	validEnds := time.Now().Add(lead)
	h.place(t, validID, validEnds)

	onBids.until(t, "a close-due for the valid item", hasKeys(validID))
	dead.until(t, "every bad record dead-lettered", hasKeys(bad...))
	c.stop()
	origin := byKey(items.until(t, "every bad record on "+schemas.TopicItems, hasKeys(bad...)))
	letters := dead.drain(t)
	dues := closeDues(t, onBids.drain(t))
	checkCloseDue(t, dues[validID][0], validID, validEnds)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := string(tc.msg.Key)
			if n := len(dues[tc.itemID]); n != 0 {
				t.Errorf("got %d close-dues for a bad record, want 0", n)
			}
			var mine []record
			for _, r := range letters {
				if v, _ := r.Header(schemas.HeaderDLQConsumer); string(r.Key) == key && string(v) == h.group {
					mine = append(mine, r)
				}
			}
			if len(mine) != 1 {
				t.Fatalf("got %d dead-letter records from %s, want 1", len(mine), h.group)
			}
			r, from := mine[0], origin[key]
			if string(r.Value) != string(tc.msg.Value) {
				t.Errorf("got dead-letter value %q, want the original %q", r.Value, tc.msg.Value)
			}
			want := map[string]string{
				schemas.HeaderDLQTopic:     schemas.TopicItems,
				schemas.HeaderDLQPartition: strconv.Itoa(int(from.Partition)),
				schemas.HeaderDLQOffset:    strconv.FormatInt(from.Offset, 10),
				schemas.HeaderDLQAttempts:  "1",
			}
			for k, v := range want {
				if got, ok := r.Header(k); !ok || string(got) != v {
					t.Errorf("got header %s=%q (present %v), want %q", k, got, ok, v)
				}
			}
			if got, _ := r.Header(schemas.HeaderDLQError); !strings.Contains(string(got), tc.errHas) {
				t.Errorf("got %s %q, want it to mention %q", schemas.HeaderDLQError, got, tc.errHas)
			}
		})
	}
}

// TestTwoClosers: two instances in one group split the partitions, and a
// second instance joining while items wait loses none of them.
func TestTwoClosers(t *testing.T) {
	h := newHarness(t)
	a := h.start(t)

	var before, after []string
	for i := range 6 {
		before = append(before, h.id("before-"+strconv.Itoa(i)))
		after = append(after, h.id("after-"+strconv.Itoa(i)))
	}
	all := append(slices.Clone(before), after...)
	onBids := newReader(t, h.brokers, schemas.TopicBids, all...)
	ends := map[string]time.Time{}
	for _, id := range before {
		ends[id] = time.Now().Add(2 * time.Second)
		h.place(t, id, ends[id])
	}
	// Waiting in the first closer's schedule when the second joins: the
	// partitions that move must take their items with them.
	eventually(t, "the first closer to hold every item", func() bool { return a.Pending() == len(before) })
	b := h.start(t)
	for _, id := range after {
		ends[id] = time.Now().Add(lead)
		h.place(t, id, ends[id])
	}

	onBids.until(t, "a close-due for every item", hasKeys(all...))
	a.stop()
	b.stop()
	got := closeDues(t, onBids.drain(t))
	if len(got) != len(all) {
		t.Fatalf("got close-dues for %d distinct items, want %d", len(got), len(all))
	}
	for _, id := range all {
		// A rebalance may repeat a close-due (see the package doc), so
		// each is checked, and at least one is asked for.
		for _, d := range got[id] {
			checkCloseDue(t, d, id, ends[id])
		}
	}
}

// harness is one test's cluster, topics and producer.
type harness struct {
	brokers []string
	cfg     kafkaio.Config
	// group is closer.Group on the embedded broker (a fresh one per test),
	// and a group of the test's own on a real cluster, which outlives it.
	group string
	// token makes ids unique on a real cluster, where the topics hold
	// earlier runs' records; on the embedded broker ids are fixed, so how
	// they hash to partitions is the same every run.
	token string
	prod  *kafkaio.Producer
	log   *slog.Logger
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Kafka broker (embedded or $" + kafkatest.EnvBrokers + ")")
	}
	brokers := kafkatest.Cluster(t)
	cfg := kafkatest.Config(brokers, partitions)
	cfg.ClientID = "closer-test"
	h := &harness{brokers: brokers, cfg: cfg, group: closer.Group,
		log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if kafkatest.Real() {
		h.token = "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		h.group = closer.Group + "-test" + h.token
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	prod, err := kafkaio.NewProducer(cfg, h.log)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	t.Cleanup(prod.Close)
	h.prod = prod
	return h
}

func (h *harness) id(name string) string { return "item-" + name + h.token }

// instance is a running closer.
type instance struct {
	*closer.Closer
	// stop ends Run and waits for it; the test's cleanup calls it too.
	stop func()
}

// start runs a closer in the harness's group and waits until it has
// partitions.
func (h *harness) start(t *testing.T) *instance {
	t.Helper()
	c, err := closer.New(closer.Config{Kafka: h.cfg, Grace: grace, Group: h.group, Log: h.log})
	if err != nil {
		t.Fatalf("new closer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var runErr error
	go func() {
		defer close(finished)
		runErr = c.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-finished:
				if runErr != nil {
					t.Errorf("Run = %v, want nil", runErr)
				}
			case <-time.After(waitTimeout):
				t.Errorf("closer did not stop within %s", waitTimeout)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-c.Ready():
	case <-finished:
		t.Fatalf("closer stopped before it had partitions: %v", runErr)
	case <-time.After(waitTimeout):
		t.Fatalf("closer had no partitions within %s", waitTimeout)
	}
	return &instance{Closer: c, stop: stop}
}

// item is a valid item, as the edge writes it.
func (h *harness) item(id string, endsAt time.Time) schemas.ItemPlaced {
	return schemas.ItemPlaced{
		ItemID:        id,
		Seller:        schemas.Party{ID: "usr-seller", Name: "Margaret Holloway"},
		Title:         "Leica M6 rangefinder",
		Category:      "cameras",
		StartingPrice: schemas.Money{Amount: 150000, Currency: "GBP"},
		MinIncrement:  schemas.Money{Amount: 2500, Currency: "GBP"},
		EndsAt:        endsAt.UTC(),
		PlacedAt:      time.Now().UTC(),
	}
}

func (h *harness) encode(t *testing.T, eventType, subject string, data any) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(eventType, schemas.Meta{
		ID: "evt-" + subject, Source: schemas.Source + "/test", Subject: subject, Time: time.Now(),
	}, data)
	if err != nil {
		t.Fatalf("new %s event: %v", eventType, err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatalf("encode %s event: %v", eventType, err)
	}
	return m
}

// place writes an item ending at endsAt to auction.items.
func (h *harness) place(t *testing.T, id string, endsAt time.Time) {
	t.Helper()
	h.write(t, h.encode(t, schemas.TypeItemPlaced, id, h.item(id, endsAt)))
}

func (h *harness) write(t *testing.T, m cekafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.prod.Write(ctx, kafkaio.Record{Topic: schemas.TopicItems, Message: m}); err != nil {
		t.Fatalf("write %s: %v", m.Key, err)
	}
}

func withKey(m cekafka.Message, key string) cekafka.Message {
	m.Key = []byte(key)
	return m
}

// record is a consumed record; the broker's timestamp tells when the
// producer wrote it, independently of anything the closer put inside.
type record struct {
	kafkatest.Record
	Timestamp time.Time
}

// reader follows a topic from its beginning and keeps the records with one
// of its keys: on a real cluster the topics hold other tests' records too.
// Unlike kafkatest.ReadN, it can read to the end of a topic (drain), which
// is what proves "exactly one".
type reader struct {
	c     *kafka.Consumer
	topic string
	keys  map[string]bool
	recs  []record
	next  map[int32]int64 // offset after the last record read, per partition
}

func newReader(t *testing.T, brokers []string, topic string, keys ...string) *reader {
	t.Helper()
	c := kafkatest.Consumer(t, kafka.ConfigMap{
		"bootstrap.servers":  strings.Join(brokers, ","),
		"group.id":           fmt.Sprintf("closer-test-reader-%d", time.Now().UnixNano()),
		"enable.auto.commit": false,
		// The broker answers a fetch at once, not after waiting for data:
		// a long-polling fetch would hold back the watermark queries of
		// drain, which share its connection.
		"fetch.wait.max.ms": 10,
		"log_level":         4,
	})
	t.Cleanup(func() { c.Close() })
	r := &reader{c: c, topic: topic, keys: map[string]bool{}, next: map[int32]int64{}}
	for _, k := range keys {
		r.keys[k] = true
	}
	// Assigned, not subscribed: no group to join, so reading starts at once.
	var tps []kafka.TopicPartition
	for p := range int32(partitions) {
		low, _, err := c.QueryWatermarkOffsets(topic, p, int(waitTimeout/time.Millisecond))
		if err != nil {
			t.Fatalf("watermarks of %s/%d: %v", topic, p, err)
		}
		r.next[p] = low
		tps = append(tps, kafka.TopicPartition{Topic: &r.topic, Partition: p, Offset: kafka.OffsetBeginning})
	}
	if err := c.Assign(tps); err != nil {
		t.Fatalf("assign %s: %v", topic, err)
	}
	return r
}

// until reads until done holds for the records kept so far, and returns them.
func (r *reader) until(t *testing.T, what string, done func([]record) bool) []record {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !done(r.recs) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %d matching records within %s: %v", r.topic, len(r.recs), waitTimeout, keysOf(r.recs))
		}
		r.read(t)
	}
	return r.recs
}

// drain reads to the end of every partition as it is now, and returns every
// record kept. Called once the writers have stopped, it sees all they wrote.
func (r *reader) drain(t *testing.T) []record {
	t.Helper()
	high := map[int32]int64{}
	for p := range int32(partitions) {
		_, hi, err := r.c.QueryWatermarkOffsets(r.topic, p, int(waitTimeout/time.Millisecond))
		if err != nil {
			t.Fatalf("watermarks of %s/%d: %v", r.topic, p, err)
		}
		high[p] = hi
	}
	return r.until(t, "read to the end", func([]record) bool {
		for p, hi := range high {
			if r.next[p] < hi {
				return false
			}
		}
		return true
	})
}

func (r *reader) read(t *testing.T) {
	t.Helper()
	m, err := r.c.ReadMessage(100 * time.Millisecond)
	if err != nil {
		if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
			return
		}
		t.Fatalf("read %s: %v", r.topic, err)
	}
	r.next[m.TopicPartition.Partition] = int64(m.TopicPartition.Offset) + 1
	if !r.keys[string(m.Key)] {
		return
	}
	r.recs = append(r.recs, record{
		Record: kafkatest.Record{
			Message:   cekafka.Message{Key: m.Key, Value: m.Value, Headers: kafkaio.FromKafkaHeaders(m.Headers)},
			Topic:     *m.TopicPartition.Topic,
			Partition: m.TopicPartition.Partition,
			Offset:    int64(m.TopicPartition.Offset),
		},
		Timestamp: m.Timestamp,
	})
}

// hasKeys is done once a record of every key was read.
func hasKeys(keys ...string) func([]record) bool {
	return func(recs []record) bool {
		seen := byKey(recs)
		for _, k := range keys {
			if _, ok := seen[k]; !ok {
				return false
			}
		}
		return true
	}
}

// byKey maps each key to its first record.
func byKey(recs []record) map[string]record {
	m := map[string]record{}
	for _, r := range recs {
		if _, ok := m[string(r.Key)]; !ok {
			m[string(r.Key)] = r
		}
	}
	return m
}

func keysOf(recs []record) []string {
	var ks []string
	for _, r := range recs {
		ks = append(ks, string(r.Key))
	}
	return ks
}

// closeDue is a decoded close-due with what its envelope and record say.
type closeDue struct {
	schemas.CloseDue
	ID, Source, Subject, Key string
	// Time is the CloudEvent time: when the closer decided to emit it.
	Time time.Time
	// Written is the broker's record timestamp (milliseconds).
	Written time.Time
}

// closeDues decodes close-dues, checking them as the processor will, and
// groups them by item id.
func closeDues(t *testing.T, recs []record) map[string][]closeDue {
	t.Helper()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]closeDue{}
	for _, r := range recs {
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			t.Fatalf("decode close-due at %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		if err := v.Validate(e.Type(), e.Data()); err != nil {
			t.Fatalf("close-due at %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		data, err := schemas.Data[schemas.CloseDue](e, schemas.TypeCloseDue)
		if err != nil {
			t.Fatalf("decode close-due at %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		out[data.ItemID] = append(out[data.ItemID], closeDue{
			CloseDue: data, ID: e.ID(), Source: e.Source(), Subject: e.Subject(), Key: string(r.Key),
			Time: e.Time(), Written: r.Timestamp,
		})
	}
	return out
}

// checkCloseDue checks d is the close-due of item id ending at endsAt, and
// that it was emitted no earlier than endsAt+grace, by the closer's clock
// and by the broker's record timestamp.
func checkCloseDue(t *testing.T, d closeDue, id string, endsAt time.Time) {
	t.Helper()
	closeAt := endsAt.Add(grace)
	fields := []struct {
		name      string
		got, want string
	}{
		{"item id", d.ItemID, id},
		{"event id", d.ID, id + ".close-due"},
		{"source", d.Source, closer.Source},
		{"subject", d.Subject, id},
		{"key", d.Key, id},
	}
	for _, f := range fields {
		if f.got != f.want {
			t.Errorf("%s: got %s %q, want %q", id, f.name, f.got, f.want)
		}
	}
	if !d.EndsAt.Equal(endsAt) {
		t.Errorf("%s: got endsAt %s, want %s", id, d.EndsAt.Format(time.RFC3339Nano), endsAt.Format(time.RFC3339Nano))
	}
	if !d.CloseAt.Equal(closeAt) {
		t.Errorf("%s: got closeAt %s, want endsAt+grace %s", id, d.CloseAt.Format(time.RFC3339Nano), closeAt.Format(time.RFC3339Nano))
	}
	if d.Time.Before(closeAt) {
		t.Errorf("%s: got close-due stamped %s, want no earlier than closeAt %s", id, d.Time.Format(time.RFC3339Nano), closeAt.Format(time.RFC3339Nano))
	}
	if d.Written.Before(closeAt.Truncate(time.Millisecond)) {
		t.Errorf("%s: got record written %s, want no earlier than closeAt %s", id, d.Written.Format(time.RFC3339Nano), closeAt.Format(time.RFC3339Nano))
	}
}

// eventually polls cond until it holds, failing t at waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("waited %s for %s", waitTimeout, what)
		}
	}
}

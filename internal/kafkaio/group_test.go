package kafkaio_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas/cekafka"
)

const groupWait = 60 * time.Second

// eventually polls cond until it holds, failing t after groupWait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(groupWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", groupWait, what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// recorder is a GroupHandler that keeps what it was told. commitBelow, if
// set, says which records it commits (the offset after them).
type recorder struct {
	commitBelow func(offset int64) bool

	mu        sync.Mutex
	sessions  map[*kafkaio.Session]bool
	owned     map[int32]bool
	offsets   map[int32][]int64
	revoked   []int32
	lost      bool
	closings  int
	ticks     int
	commitErr error
}

func newRecorder() *recorder {
	return &recorder{sessions: map[*kafkaio.Session]bool{}, owned: map[int32]bool{}, offsets: map[int32][]int64{}}
}

func (r *recorder) Assigned(s *kafkaio.Session, tps []kafka.TopicPartition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions[s] = true
	for _, tp := range tps {
		r.owned[tp.Partition] = true
	}
}

func (r *recorder) Revoked(_ *kafkaio.Session, tps []kafka.TopicPartition, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tp := range tps {
		delete(r.owned, tp.Partition)
		r.revoked = append(r.revoked, tp.Partition)
	}
	r.lost = r.lost || lost
}

func (r *recorder) Message(s *kafkaio.Session, m *kafka.Message) {
	off := int64(m.TopicPartition.Offset)
	r.mu.Lock()
	r.offsets[m.TopicPartition.Partition] = append(r.offsets[m.TopicPartition.Partition], off)
	r.mu.Unlock()
	if r.commitBelow != nil && r.commitBelow(off) {
		if err := s.CommitOffset(*m.TopicPartition.Topic, m.TopicPartition.Partition, off+1); err != nil {
			r.mu.Lock()
			r.commitErr = err
			r.mu.Unlock()
		}
	}
}

func (r *recorder) Tick(*kafkaio.Session) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticks++
	return 0
}

func (r *recorder) Closing(*kafkaio.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closings++
}

func (r *recorder) read(p int32) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.offsets[p]...)
}

func (r *recorder) ownedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.owned)
}

type groupEnv struct {
	brokers []string
	cfg     kafkaio.Config
	topic   string
	logs    *syncbuf.Buffer
	log     *slog.Logger
	written int
}

func newGroupEnv(t *testing.T, partitions int) *groupEnv {
	brokers := kafkatest.Cluster(t)
	topic := fmt.Sprintf("group-test-%d", time.Now().UnixNano())
	kafkatest.CreateTopic(t, brokers, topic, partitions, nil)
	logs := &syncbuf.Buffer{}
	return &groupEnv{brokers: brokers, cfg: kafkatest.Config(brokers, partitions), topic: topic,
		logs: logs, log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// write writes n records under one key (so to one partition), valued by
// how many were written before each.
func (e *groupEnv) write(t *testing.T, n int) {
	t.Helper()
	p, err := kafkaio.NewProducer(e.cfg, e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	recs := make([]kafkaio.Record, n)
	for i := range recs {
		recs[i] = kafkaio.Record{Topic: e.topic, Message: cekafka.Message{Key: []byte("k"), Value: []byte(fmt.Sprint(e.written + i))}}
	}
	e.written += n
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Write(ctx, recs...); err != nil {
		t.Fatal(err)
	}
}

// run starts a member of group calling h; the returned stop ends it and
// fails t unless Run returns nil.
func (e *groupEnv) run(t *testing.T, group string, extra kafka.ConfigMap, h kafkaio.GroupHandler) (*kafkaio.Group, func()) {
	t.Helper()
	g, err := kafkaio.NewGroup(kafkaio.GroupConfig{Kafka: e.cfg, Group: group, Topics: []string{e.topic},
		Extra: extra, Log: e.log}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: got %v, want nil", err)
				}
			case <-time.After(groupWait):
				t.Errorf("Run did not return within %s of its context ending", groupWait)
			}
		})
	}
	t.Cleanup(stop)
	return g, stop
}

// partitionOf is the partition the records of write went to.
func partitionOf(r *recorder) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.offsets {
		return p
	}
	return -1
}

// TestGroupCommitResume: a member reads every record from the earliest
// offset, its lag follows its commits, and a new member of the group
// resumes exactly after the last committed record.
func TestGroupCommitResume(t *testing.T) {
	e := newGroupEnv(t, 2)
	group := "g-" + e.topic
	e.write(t, 10)

	first := newRecorder()
	first.commitBelow = func(off int64) bool { return off < 6 }
	g, stop := e.run(t, group, kafka.ConfigMap{"statistics.interval.ms": 100}, first)
	var p int32
	eventually(t, "the first member read all 10 records", func() bool {
		p = partitionOf(first)
		return len(first.read(p)) == 10
	})
	for i, off := range first.read(p) {
		if off != int64(i) {
			t.Fatalf("first member's offsets: got %v, want 0..9 in order", first.read(p))
		}
	}
	eventually(t, "a lag of the 4 uncommitted records", func() bool {
		for _, l := range g.Lags() {
			if l.Topic == e.topic && l.Partition == p {
				return l.Records == 4
			}
		}
		return false
	})
	stop()
	if got := g.Lags(); got != nil {
		t.Fatalf("Lags after Run returned: got %+v, want none", got)
	}
	first.mu.Lock()
	closings, ticks, commitErr := first.closings, first.ticks, first.commitErr
	first.mu.Unlock()
	if commitErr != nil {
		t.Fatalf("first member's commits: got %v, want none failed", commitErr)
	}
	if closings != 1 || ticks == 0 {
		t.Fatalf("first member: got %d Closing calls and %d ticks, want 1 and some", closings, ticks)
	}

	second := newRecorder()
	e.run(t, group, nil, second)
	eventually(t, "the second member read the 4 uncommitted records", func() bool { return len(second.read(p)) >= 4 })
	if got := second.read(p); got[0] != 6 || got[len(got)-1] != 9 {
		t.Fatalf("second member's offsets: got %v, want 6..9", got)
	}
}

// TestGroupRevokeOnJoin: when a second member joins, the first is told
// which partitions it gives up (not lost: it may still commit them), and
// the second is assigned them.
func TestGroupRevokeOnJoin(t *testing.T) {
	e := newGroupEnv(t, 2)
	group := "g-" + e.topic
	first := newRecorder()
	e.run(t, group, nil, first)
	eventually(t, "the first member owns both partitions", func() bool { return first.ownedCount() == 2 })

	second := newRecorder()
	e.run(t, group, nil, second)
	eventually(t, "each member owns one partition", func() bool { return first.ownedCount() == 1 && second.ownedCount() == 1 })
	first.mu.Lock()
	revoked, lost := append([]int32(nil), first.revoked...), first.lost
	first.mu.Unlock()
	if len(revoked) != 1 || lost {
		t.Fatalf("first member: got revoked %v (lost %v), want one partition revoked, not lost", revoked, lost)
	}
	second.mu.Lock()
	_, got := second.owned[revoked[0]]
	second.mu.Unlock()
	if !got {
		t.Fatalf("second member: got %v, want the revoked partition %d", second.owned, revoked[0])
	}
}

// TestGroupFencedRejoins: a static member fenced in its group (another
// consumer joined under its group.instance.id) is replaced by a new
// consumer, which is assigned the partitions again; Run goes on.
func TestGroupFencedRejoins(t *testing.T) {
	if !kafkatest.Real() {
		t.Skip("the embedded broker does not fence static members; runs on a real broker (make test-integration)")
	}
	e := newGroupEnv(t, 2)
	group := "g-" + e.topic
	e.cfg.InstanceID = "instance-" + e.topic
	r := newRecorder()
	e.run(t, group, nil, r)
	eventually(t, "the member owns both partitions", func() bool { return r.ownedCount() == 2 })

	intruder, err := kafkaio.NewMember(e.cfg.GroupConsumer(group, nil), e.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := intruder.SubscribeTopics([]string{e.topic}, nil); err != nil {
		t.Fatal(err)
	}
	assigned := false
	eventually(t, "the intruder joined under the member's static id", func() bool {
		intruder.Poll(100)
		parts, err := intruder.Assignment()
		assigned = assigned || err == nil && len(parts) > 0
		return assigned
	})
	intruder.Close()
	eventually(t, "the member saw it was fenced", func() bool { return strings.Contains(e.logs.String(), "fenced in the group") })
	eventually(t, "a new consumer assigned the partitions", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.sessions) >= 2 && len(r.owned) == 2
	})
	e.write(t, 5)
	eventually(t, "the replacement reads", func() bool { return len(r.read(partitionOf(r))) >= 5 })
}

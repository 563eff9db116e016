package kafkaload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// BaselineConfig sizes the raw broker measurement.
type BaselineConfig struct {
	Kafka kafkaio.Config
	// Records is how many records each phase moves (default 100,000).
	Records int
	// Batch is how many records one Write carries, as POST /v1/bids writes
	// a batch in one produce call (default 1,000).
	Batch int
	// Writers is how many Writes are in flight at once (default 4).
	Writers int
	// Keys is how many distinct item ids the records are spread over
	// (default 1,000).
	Keys int
}

// Throughput is one phase of the baseline.
type Throughput struct {
	Records     int64         `json:"records"`
	Bytes       int64         `json:"bytes"`
	Elapsed     time.Duration `json:"elapsedNs"`
	PerSecond   float64       `json:"perSecond"`
	MBPerSecond float64       `json:"mbPerSecond"`
}

func throughput(n, bytes int64, d time.Duration) Throughput {
	t := Throughput{Records: n, Bytes: bytes, Elapsed: d}
	if s := d.Seconds(); s > 0 {
		t.PerSecond = float64(n) / s
		t.MBPerSecond = float64(bytes) / s / 1e6
	}
	return t
}

// Baseline is the broker's raw throughput with records the size of a bid
// event: producing alone, consuming alone (a backlog from the start), and
// both at once (the time from the first write to the last read).
type Baseline struct {
	RecordBytes    int        `json:"recordBytes"`
	Partitions     int        `json:"partitions"`
	Produce        Throughput `json:"produce"`
	Consume        Throughput `json:"consume"`
	ProduceConsume Throughput `json:"produceConsume"`
}

// RunBaseline measures the broker of cfg.Kafka on a topic of its own, with
// the platform's producer (kafkaio: acks=all, idempotence, the fnv1a
// partitioner, lz4) and bid-placed records encoded as the edge encodes them.
// The topic is deleted afterwards.
func RunBaseline(ctx context.Context, cfg BaselineConfig, log *slog.Logger) (Baseline, error) {
	if cfg.Records <= 0 {
		cfg.Records = 100_000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 4
	}
	if cfg.Keys <= 0 {
		cfg.Keys = 1000
	}
	if cfg.Kafka.Partitions <= 0 {
		cfg.Kafka.Partitions = schemas.DefaultPartitions
	}
	if cfg.Kafka.Replication <= 0 {
		cfg.Kafka.Replication = 1
	}
	cfg.Kafka.ClientID = "loadgen-baseline"
	topic := fmt.Sprintf("loadgen.baseline.%d", time.Now().UnixNano())
	if err := kafkaio.CreateTopic(ctx, cfg.Kafka, topic, cfg.Kafka.Partitions, nil); err != nil {
		return Baseline{}, err
	}
	defer deleteTopic(cfg.Kafka, topic, log)

	recs, size, err := bidRecords(topic, cfg.Keys)
	if err != nil {
		return Baseline{}, err
	}
	p, err := kafkaio.NewProducer(cfg.Kafka, log)
	if err != nil {
		return Baseline{}, err
	}
	defer p.Close()
	b := Baseline{RecordBytes: size, Partitions: cfg.Kafka.Partitions}
	n := int64(cfg.Records)

	start := time.Now()
	if err := produce(ctx, p, recs, cfg); err != nil {
		return b, fmt.Errorf("baseline produce: %w", err)
	}
	b.Produce = throughput(n, n*int64(size), time.Since(start))

	c, err := newReader(cfg.Kafka, topic, kafkaio.FromStart)
	if err != nil {
		return b, err
	}
	defer c.Close()
	start = time.Now()
	if err := consume(ctx, c, n); err != nil {
		return b, fmt.Errorf("baseline consume: %w", err)
	}
	b.Consume = throughput(n, n*int64(size), time.Since(start))

	// Both at once: a consumer at the end of the topic reads what the
	// writers produce while they produce it.
	c2, err := newReader(cfg.Kafka, topic, kafkaio.FromEnd)
	if err != nil {
		return b, err
	}
	defer c2.Close()
	read := make(chan error, 1)
	start = time.Now()
	go func() { read <- consume(ctx, c2, n) }()
	if err := produce(ctx, p, recs, cfg); err != nil {
		return b, fmt.Errorf("baseline produce+consume: %w", err)
	}
	if err := <-read; err != nil {
		return b, fmt.Errorf("baseline produce+consume: %w", err)
	}
	b.ProduceConsume = throughput(n, n*int64(size), time.Since(start))
	return b, nil
}

// bidRecords encodes one bid-placed event per key, as the edge would.
func bidRecords(topic string, keys int) ([]kafkaio.Record, int, error) {
	now := time.Now().UTC()
	recs := make([]kafkaio.Record, keys)
	size := 0
	for i := range recs {
		item := uuid.Must(uuid.NewV7()).String()
		bid := schemas.BidPlaced{
			BidID: uuid.Must(uuid.NewV7()).String(), ItemID: item,
			Bidder: schemas.Party{ID: "u-" + uuid.Must(uuid.NewV7()).String(), Name: "Load bidder", Location: "GB-LON"},
			Amount: schemas.Money{Amount: 123456, Currency: "EUR"}, PlacedAt: now,
		}
		e, err := schemas.NewEvent(schemas.TypeBidPlaced, schemas.Meta{
			ID: bid.BidID, Source: schemas.Source + "/functions/placebid", Subject: item, Time: now}, bid)
		if err != nil {
			return nil, 0, err
		}
		m, err := cekafka.Encode(e)
		if err != nil {
			return nil, 0, err
		}
		recs[i] = kafkaio.Record{Topic: topic, Message: m}
		if i == 0 {
			size = len(m.Key) + len(m.Value)
			for _, h := range m.Headers {
				size += len(h.Key) + len(h.Value)
			}
		}
	}
	return recs, size, nil
}

// produce writes cfg.Records records, cycling through recs, in Writes of
// cfg.Batch with cfg.Writers in flight.
func produce(ctx context.Context, p *kafkaio.Producer, recs []kafkaio.Record, cfg BaselineConfig) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Writers)
	total := int64(cfg.Records)
	for range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]kafkaio.Record, 0, cfg.Batch)
			for {
				from := next.Add(int64(cfg.Batch)) - int64(cfg.Batch)
				if from >= total || ctx.Err() != nil {
					return
				}
				batch = batch[:0]
				for i := from; i < min(from+int64(cfg.Batch), total); i++ {
					batch = append(batch, recs[i%int64(len(recs))])
				}
				if err := p.Write(ctx, batch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(<-errs, ctx.Err())
}

// newReader positions a reader on every partition of topic, at its start
// or its end.
func newReader(cfg kafkaio.Config, topic string, from kafkaio.From) (*kafkaio.Reader, error) {
	r, err := kafkaio.NewReader(cfg, "loadgen-baseline", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("baseline consumer: %w", err)
	}
	if err := r.Assign(from, topic); err != nil {
		r.Close()
		return nil, fmt.Errorf("baseline consumer: %w", err)
	}
	return r, nil
}

// consume reads n records (and throws them away: the baseline is the
// transport, not any work on the records).
func consume(ctx context.Context, r *kafkaio.Reader, n int64) error {
	var got int64
	if n <= 0 {
		return nil
	}
	err := r.Read(ctx, func(*kafka.Message) bool {
		got++
		return got < n
	})
	if err == nil && got < n {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("read %d of %d records: %w", got, n, err)
	}
	return nil
}

func deleteTopic(cfg kafkaio.Config, topic string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kafkaio.DeleteTopic(ctx, cfg, topic); err != nil {
		log.Warn("baseline: topic left behind", "topic", topic, "err", err)
	}
}

func jsonData(b []byte, v any) error { return json.Unmarshal(b, v) }

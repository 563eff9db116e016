package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/schemas"
)

// ErrPartitionCount is a co-partitioned topic with the wrong partition count.
var ErrPartitionCount = errors.New("partition count mismatch")

// EnsureTopics creates every catalog topic that does not exist yet, with the
// configured partitions and replication. Existing topics are left alone, but
// a co-partitioned topic with the wrong partition count is an error: goka
// cannot join it, and silently carrying on would misplace keys.
func EnsureTopics(ctx context.Context, cfg Config) error {
	admin, err := kafka.NewAdminClient(cfg.configMap(nil))
	if err != nil {
		return fmt.Errorf("new kafka admin: %w", err)
	}
	defer admin.Close()

	md, err := admin.GetMetadata(nil, true, 10000)
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	var specs []kafka.TopicSpecification
	for _, t := range schemas.Catalog() {
		if have, ok := md.Topics[t.Name]; ok && have.Error.Code() == kafka.ErrNoError {
			if t.CoPartitioned && len(have.Partitions) != cfg.Partitions {
				return fmt.Errorf("%w: topic %s has %d partitions, want %d (co-partitioned topics must match)",
					ErrPartitionCount, t.Name, len(have.Partitions), cfg.Partitions)
			}
			continue
		}
		specs = append(specs, kafka.TopicSpecification{
			Topic:             t.Name,
			NumPartitions:     cfg.Partitions,
			ReplicationFactor: cfg.Replication,
			Config:            topicConfig(t, cfg),
		})
	}
	if len(specs) == 0 {
		return nil
	}
	results, err := admin.CreateTopics(ctx, specs)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range results {
		if c := r.Error.Code(); c != kafka.ErrNoError && c != kafka.ErrTopicAlreadyExists {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Error)
		}
	}
	return waitForLeaders(ctx, admin, specs)
}

// CreateTopic creates one topic outside the catalog (a tool's scratch
// topic: the load generator's baseline, the batching study, tests) with
// partitions, cfg.Replication (1 if unset) and config, and waits until it
// is ready as EnsureTopics does.
func CreateTopic(ctx context.Context, cfg Config, name string, partitions int, config map[string]string) error {
	admin, err := kafka.NewAdminClient(cfg.configMap(nil))
	if err != nil {
		return fmt.Errorf("new kafka admin: %w", err)
	}
	defer admin.Close()
	spec := kafka.TopicSpecification{Topic: name, NumPartitions: partitions,
		ReplicationFactor: max(cfg.Replication, 1), Config: config}
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{spec})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("create topic %s: %w", name, r.Error)
		}
	}
	return waitForLeaders(ctx, admin, []kafka.TopicSpecification{spec})
}

// DeleteTopic deletes a topic made with CreateTopic.
func DeleteTopic(ctx context.Context, cfg Config, name string) error {
	admin, err := kafka.NewAdminClient(cfg.configMap(nil))
	if err != nil {
		return fmt.Errorf("new kafka admin: %w", err)
	}
	defer admin.Close()
	res, err := admin.DeleteTopics(ctx, []string{name})
	if err == nil && len(res) == 1 && res[0].Error.Code() != kafka.ErrNoError {
		err = res[0].Error
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	return nil
}

// topicsVisibleTimeout bounds how long EnsureTopics waits for new topics.
const topicsVisibleTimeout = 30 * time.Second

// waitForLeaders waits until every created topic has all its partitions and
// a leader for each in the broker's metadata. A real cluster answers
// CreateTopics once the controller has the topic, before the brokers do: a
// client that starts at once (goka asking for the table's offsets) gets
// UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER and gives up.
func waitForLeaders(ctx context.Context, admin *kafka.AdminClient, specs []kafka.TopicSpecification) error {
	ctx, cancel := context.WithTimeout(ctx, topicsVisibleTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		md, err := admin.GetMetadata(nil, true, 5000)
		pending := ""
		if err != nil {
			pending = err.Error()
		} else {
			for _, spec := range specs {
				if !hasLeaders(md.Topics[spec.Topic], spec.NumPartitions) {
					pending = spec.Topic
					break
				}
			}
		}
		if pending == "" {
			// The metadata names a leader before that broker serves the
			// partition: goka's first ListOffsets can still be refused
			// with NOT_LEADER_OR_FOLLOWER. Ready is when it is answered.
			pending = offsetsPending(ctx, admin, specs)
		}
		if pending == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("created topics not ready (waiting on %s): %w", pending, ctx.Err())
		case <-tick.C:
		}
	}
}

// offsetsPending asks for the earliest offset of every partition of specs
// and names one that is not answered yet, or returns "".
func offsetsPending(ctx context.Context, admin *kafka.AdminClient, specs []kafka.TopicSpecification) string {
	req := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, spec := range specs {
		for p := range spec.NumPartitions {
			topic := spec.Topic
			req[kafka.TopicPartition{Topic: &topic, Partition: int32(p)}] = kafka.EarliestOffsetSpec
		}
	}
	res, err := admin.ListOffsets(ctx, req)
	if err != nil {
		return err.Error()
	}
	for tp, info := range res.ResultInfos {
		if info.Error.Code() != kafka.ErrNoError {
			return fmt.Sprintf("%s/%d: %v", *tp.Topic, tp.Partition, info.Error)
		}
	}
	return ""
}

func hasLeaders(t kafka.TopicMetadata, partitions int) bool {
	if t.Error.Code() != kafka.ErrNoError || len(t.Partitions) != partitions {
		return false
	}
	for _, p := range t.Partitions {
		if p.Error.Code() != kafka.ErrNoError || p.Leader < 0 {
			return false
		}
	}
	return true
}

func topicConfig(t schemas.Topic, cfg Config) map[string]string {
	c := map[string]string{"cleanup.policy": t.CleanupPolicy}
	if t.KeepForever {
		c["retention.ms"] = "-1"
	}
	if cfg.Replication > 1 {
		// With acks=all, a write then survives the loss of one replica.
		c["min.insync.replicas"] = strconv.Itoa(min(2, cfg.Replication))
	}
	return c
}

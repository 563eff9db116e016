package kafkaio

import (
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Group membership timings every consumer group of the platform uses: the
// librdkafka consumers (triggers, closer) here, goka's processor in
// GokaConfig.
const (
	// sessionTimeoutMs is how long a member that stopped heartbeating (a
	// SIGKILLed process) keeps its partitions. librdkafka's 45 s left a
	// restarted closer or function idle for ~40 s; 10 s is well above a GC
	// pause or a busy machine's hiccup, and Kafka's minimum is 6 s.
	sessionTimeoutMs = 10000
	// heartbeatIntervalMs is how soon a member notices a rebalance.
	heartbeatIntervalMs = 1000
)

// GroupConsumer is the librdkafka configuration of a member of consumer
// group: the settings every group of the flow needs, in one place, plus
// extra (which may add to them, never remove one).
//
//   - it starts from the earliest offset when the group has none: the
//     default (latest) silently skips everything written before the group
//     first joined;
//   - it never commits on its own: offsets are committed by the consumer
//     once a record is done with (a function succeeded, a close-due is
//     acknowledged), never for what librdkafka merely fetched;
//   - cooperative-sticky assignment: a rebalance moves only the partitions
//     that change owner, the others keep running through it;
//   - with InstanceID set it is a static member (KIP-345): a replica that
//     restarts within the session timeout takes its partitions back
//     without a rebalance, instead of waiting for its old self to expire;
//   - librdkafka's logs come on the Logs channel (see ForwardLogs).
func (c Config) GroupConsumer(group string, extra kafka.ConfigMap) *kafka.ConfigMap {
	m := kafka.ConfigMap{
		"group.id":                      group,
		"auto.offset.reset":             "earliest",
		"enable.auto.commit":            false,
		"enable.auto.offset.store":      false,
		"partition.assignment.strategy": "cooperative-sticky",
		"session.timeout.ms":            sessionTimeoutMs,
		"heartbeat.interval.ms":         heartbeatIntervalMs,
		"go.logs.channel.enable":        true,
	}
	if c.InstanceID != "" {
		m["group.instance.id"] = c.InstanceID
	}
	for k, v := range extra {
		m[k] = v
	}
	return c.configMap(m)
}

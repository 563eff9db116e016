package kafkaio

import (
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Config is how a component reaches the cluster.
type Config struct {
	Brokers []string
	// ClientID names the component in broker logs and quotas.
	ClientID string
	// Partitions is the partition count of every co-partitioned auction topic.
	Partitions int
	// Replication is the replication factor of every topic the platform
	// creates, goka's table included: 1 for a single broker, 3 in production.
	Replication int
	// DeliveryTimeout bounds how long a write may take before the producer
	// gives up and the caller is told (HTTP 503 at the edge).
	DeliveryTimeout time.Duration
	// Security authenticates to a secured cluster (SASL, TLS).
	Security Security
	// InstanceID, if set, makes this process a static member of each
	// consumer group it joins (see GroupConsumer). It must be stable across
	// restarts of one replica and differ between replicas: two live members
	// with one id fence each other off.
	InstanceID string
}

// ConfigMap is the librdkafka configuration of a client of this cluster:
// bootstrap servers, client id and security, plus extra.
func (c Config) ConfigMap(extra kafka.ConfigMap) *kafka.ConfigMap { return c.configMap(extra) }

// BootstrapServers is the brokers as librdkafka's bootstrap.servers.
func (c Config) BootstrapServers() string { return strings.Join(c.Brokers, ",") }

func (c Config) configMap(extra kafka.ConfigMap) *kafka.ConfigMap {
	m := kafka.ConfigMap{
		"bootstrap.servers": c.BootstrapServers(),
		"client.id":         c.ClientID,
		// Quieter reconnect logs while a broker restarts.
		"reconnect.backoff.max.ms": 2000,
		// librdkafka logs informational chatter to stderr; warnings are enough.
		"log_level": 4,
	}
	c.Security.librdkafka(m)
	for k, v := range extra {
		m[k] = v
	}
	return &m
}

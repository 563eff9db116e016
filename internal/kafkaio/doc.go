// Package kafkaio connects the platform to Kafka: the confluent-kafka-go
// producer every edge and out-of-band function writes CloudEvents with; the
// consumer group member (Group) the function triggers and the closer are
// handlers of, which owns joining, polling, rebalances, commits, lag and
// rejoining after a broker's faults; a Reader of partitions with no group
// (live verdicts, the load generator); topic creation from the catalog in
// schemas; dead-letter records and their retried writes; and the sarama
// configuration goka's processors and views run on. No other package
// creates a librdkafka client (TestClientsOnlyInKafkaio), so the settings
// the flow depends on are made in one place.
//
// Two clients meet here on purpose. Edge producers use librdkafka
// (confluent-kafka-go); goka uses sarama. They must agree on where a key
// lives, so producers use librdkafka's fnv1a partitioner, which places a key
// in the same partition as goka's default FNV-1a hasher.
package kafkaio

// Package kafkaio connects the platform to Kafka: the confluent-kafka-go
// producer every edge and out-of-band function writes CloudEvents with, topic
// creation from the catalog in schemas, dead-letter records, and the sarama
// configuration goka's processors and views run on.
//
// Two clients meet here on purpose. Edge producers use librdkafka
// (confluent-kafka-go); goka uses sarama. They must agree on where a key
// lives, so producers use librdkafka's fnv1a partitioner, which places a key
// in the same partition as goka's default FNV-1a hasher.
package kafkaio

// Package embedbroker runs an in-process Kafka-protocol broker (franz-go's
// kfake) for the embedded mode and for tests: the same clients, the same
// protocol, no JVM. It keeps everything in memory, so a restart starts empty.
package embedbroker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running in-process broker.
type Broker struct {
	c *kfake.Cluster
}

// Start listens on 127.0.0.1:port (0 picks a free port, so two instances can
// run side by side).
func Start(port int) (*Broker, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port)}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka: %w", err)
	}
	return &Broker{c: c}, nil
}

// Addrs are the bootstrap addresses.
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Close stops the broker and drops its data.
func (b *Broker) Close() { b.c.Close() }

package kafkaio

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"hash"
	"strings"

	"github.com/IBM/sarama"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/xdg-go/scram"
)

// Security is how a component authenticates to a secured cluster. Both
// clients get the same settings: librdkafka (edge producers, triggers, the
// closer) and sarama (goka processors and views).
type Security struct {
	// Protocol is PLAINTEXT (the default), SSL, SASL_PLAINTEXT or SASL_SSL.
	Protocol string
	// Mechanism is the SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism          string
	Username, Password string
	// CAPEM is a PEM bundle of the CAs that sign the brokers' certificates
	// (empty: the system's). The caller reads the file, so a missing one is
	// an error at start, not a puzzling connection failure later.
	CAPEM []byte
}

func (s Security) protocol() string {
	if s.Protocol == "" {
		return "PLAINTEXT"
	}
	return strings.ToUpper(s.Protocol)
}

func (s Security) tls() bool  { return strings.HasSuffix(s.protocol(), "SSL") }
func (s Security) sasl() bool { return strings.HasPrefix(s.protocol(), "SASL_") }

// Validate reports settings that cannot work.
func (s Security) Validate() error {
	switch s.protocol() {
	case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		return fmt.Errorf("kafka security protocol %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", s.Protocol)
	}
	if s.sasl() {
		switch s.Mechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return fmt.Errorf("kafka SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
		}
		if s.Username == "" {
			return fmt.Errorf("kafka SASL needs a username")
		}
	}
	if len(s.CAPEM) > 0 && !x509.NewCertPool().AppendCertsFromPEM(s.CAPEM) {
		return fmt.Errorf("kafka CA bundle holds no PEM certificate")
	}
	return nil
}

// librdkafka adds the settings to a librdkafka config.
func (s Security) librdkafka(m kafka.ConfigMap) {
	if s.Protocol == "" {
		return
	}
	m["security.protocol"] = s.protocol()
	if s.sasl() {
		m["sasl.mechanisms"] = s.Mechanism
		m["sasl.username"] = s.Username
		m["sasl.password"] = s.Password
	}
	if s.tls() && len(s.CAPEM) > 0 {
		m["ssl.ca.pem"] = string(s.CAPEM)
	}
}

// sarama adds the settings to a sarama config (Validate has checked them).
func (s Security) sarama(c *sarama.Config) {
	if s.tls() {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if len(s.CAPEM) > 0 {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(s.CAPEM)
			tc.RootCAs = pool
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	if s.sasl() {
		c.Net.SASL.Enable = true
		c.Net.SASL.User = s.Username
		c.Net.SASL.Password = s.Password
		c.Net.SASL.Handshake = true
		switch s.Mechanism {
		case "PLAIN":
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case "SCRAM-SHA-256":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			c.Net.SASL.SCRAMClientGeneratorFunc = scramClient(sha256.New)
		case "SCRAM-SHA-512":
			c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			c.Net.SASL.SCRAMClientGeneratorFunc = scramClient(sha512.New)
		}
	}
}

// scramClient adapts xdg-go/scram to sarama's SCRAM client interface.
func scramClient(h func() hash.Hash) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramConversation{gen: scram.HashGeneratorFcn(h)} }
}

type scramConversation struct {
	gen  scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramConversation) Begin(user, password, authzID string) error {
	c, err := s.gen.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *scramConversation) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramConversation) Done() bool                            { return s.conv.Done() }

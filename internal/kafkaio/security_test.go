package kafkaio_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// TestSecuredCluster: both clients the platform uses reach a cluster that
// demands TLS and SASL with the same Security settings: librdkafka writes
// (the edge producer) and sarama reads (a goka view). An in-process broker
// plays the secured cluster, with a certificate made for the test.
func TestSecuredCluster(t *testing.T) {
	certPEM, cert := selfSigned(t)
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
				kfake.Superuser(mech, "auction", "s3cret"),
				kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg := kafkaio.Config{Brokers: c.ListenAddrs(), ClientID: "secure-test", Partitions: 3, Replication: 1,
				DeliveryTimeout: 10 * time.Second, Security: kafkaio.Security{
					Protocol: "SASL_SSL", Mechanism: mech, Username: "auction", Password: "s3cret", CAPEM: certPEM,
				}}
			if err := cfg.Security.Validate(); err != nil {
				t.Fatalf("Validate: got %v, want nil", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := kafkaio.EnsureTopics(ctx, cfg); err != nil {
				t.Fatalf("EnsureTopics over SASL_SSL: %v", err)
			}
			p, err := kafkaio.NewProducer(cfg, discard())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			topic := "auction-table" // compacted; readable as a goka table
			if err := p.Write(ctx, kafkaio.Record{Topic: topic, Message: cekafka.Message{Key: []byte("k"), Value: []byte("v")}}); err != nil {
				t.Fatalf("write over SASL_SSL: %v", err)
			}

			sc := cfg.GokaConfig(0)
			view, err := goka.NewView(cfg.Brokers, goka.Table(topic), new(codec.String),
				goka.WithViewStorageBuilder(storage.MemoryBuilder()),
				goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
				goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, cfg.GokaTopicManager())),
				goka.WithViewLogger(kafkaio.GokaLogger(discard())))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- view.Run(ctx) }()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(30 * time.Second)
			for {
				v, _ := view.Get("k")
				if v == "v" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("goka view over SASL_SSL: got %v, want the record written by librdkafka", v)
				}
				select {
				case err := <-done:
					t.Fatalf("view stopped: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
}

func TestSecurityValidate(t *testing.T) {
	tests := []struct {
		name string
		sec  kafkaio.Security
		ok   bool
	}{
		{"plaintext by default", kafkaio.Security{}, true},
		{"ssl without sasl", kafkaio.Security{Protocol: "SSL"}, true},
		{"unknown protocol", kafkaio.Security{Protocol: "TLS"}, false},
		{"sasl without mechanism", kafkaio.Security{Protocol: "SASL_SSL", Username: "u"}, false},
		{"sasl without user", kafkaio.Security{Protocol: "SASL_PLAINTEXT", Mechanism: "PLAIN"}, false},
		{"not a CA bundle", kafkaio.Security{Protocol: "SSL", CAPEM: []byte("nonsense")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.sec.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate: got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// selfSigned makes a certificate for 127.0.0.1 and returns it as PEM and
// as a tls.Certificate.
func selfSigned(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafka.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, cert
}

package outofband_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/auctionflow/auction/cmd/internal/outofband"
)

// TestKafka: the functions reach a secured cluster with the settings of
// `auction run`: brokers, SASL over TLS, the CA bundle read from its file;
// settings that cannot work are refused at start.
func TestKafka(t *testing.T) {
	pemCA := selfSigned(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pemCA, 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) outofband.Env { return func(k string) string { return m[k] } }
	cfg, err := outofband.Kafka(env(map[string]string{
		"AUCTION_KAFKA_BROKERS": "b-1.msk:9096, b-2.msk:9096", "AUCTION_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
		"AUCTION_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "AUCTION_KAFKA_SASL_USERNAME": "auction",
		"AUCTION_KAFKA_SASL_PASSWORD": "s3cret", "AUCTION_KAFKA_CA_FILE": ca,
	}), "auction-notify-lambda")
	if err != nil {
		t.Fatalf("Kafka: %v", err)
	}
	sec := cfg.Security
	if !slices.Equal(cfg.Brokers, []string{"b-1.msk:9096", "b-2.msk:9096"}) || cfg.ClientID != "auction-notify-lambda" ||
		sec.Protocol != "SASL_SSL" || sec.Mechanism != "SCRAM-SHA-512" || sec.Username != "auction" || sec.Password != "s3cret" ||
		string(sec.CAPEM) != string(pemCA) {
		t.Fatalf("got %+v, want the settings", cfg)
	}
	for name, m := range map[string]map[string]string{
		"no brokers":          {},
		"an unknown protocol": {"AUCTION_KAFKA_BROKERS": "b:9092", "AUCTION_KAFKA_SECURITY_PROTOCOL": "SASL_TLS"},
		"SASL without a user": {"AUCTION_KAFKA_BROKERS": "b:9092", "AUCTION_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "AUCTION_KAFKA_SASL_MECHANISM": "PLAIN"},
		"a CA file not there": {"AUCTION_KAFKA_BROKERS": "b:9092", "AUCTION_KAFKA_SECURITY_PROTOCOL": "SSL", "AUCTION_KAFKA_CA_FILE": ca + ".missing"},
	} {
		if _, err := outofband.Kafka(env(m), "c"); err == nil {
			t.Errorf("%s: got nil, want an error", name)
		}
	}
}

// selfSigned is the PEM of a certificate signed by its own key.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "msk"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

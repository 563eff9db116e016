package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/auctionflow/auction/functions/closer"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/services/gateway"
)

// config is everything `auction run` can be told, by flag or by the AUCTION_*
// environment variable named beside it. Flags win over the environment.
type config struct {
	Target             string
	HTTPAddr           string
	Brokers            string
	KafkaProtocol      string
	KafkaMechanism     string
	KafkaUser          string
	KafkaPassword      string
	KafkaCAFile        string
	EmbeddedKafkaPort  int
	Partitions         int
	Replication        int
	GokaFlush          time.Duration
	StateDir           string
	DeliveryTimeout    time.Duration
	JWTKey             string
	JWTIssuer          string
	JWTAudience        string
	TokenTTL           time.Duration
	DemoUsers          bool
	CloseGrace         time.Duration
	OutbidWindow       time.Duration
	AdminAddr          string
	LogLevel           string
	LogFormat          string
	RateLimit          float64
	RateBurst          int
	CORSOrigins        string
	UserCacheTTL       time.Duration
	Store              string
	NotificationsTable string
	AnalyticsTable     string
	LineageTable       string
	IdempotencyTable   string
	BidHistoryTable    string
	SMTPAddr           string
	SMTPFrom           string
	SMTPUser           string
	SMTPPassword       string
	DynamoEndpoint     string
	DynamoRegion       string
	UsersTable         string
	InstanceID         string
}

// envVar documents one setting; the README's table is this list.
type envVar struct {
	Name, Flag, Default, Doc string
}

// settings binds every setting to its flag and variable, and returns the
// table of them.
func (c *config) bind(fs *flag.FlagSet, getenv func(string) string) ([]envVar, error) {
	var vars []envVar
	var errs []string
	str := func(p *string, name, env, def, doc string) {
		v := def
		if e := getenv(env); e != "" {
			v = e
		}
		fs.StringVar(p, name, v, doc+" ($"+env+")")
		vars = append(vars, envVar{env, name, def, doc})
	}
	num := func(p *int, name, env string, def int, doc string) {
		v := def
		if e := getenv(env); e != "" {
			n, err := strconv.Atoi(e)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: not an integer", env, e))
			}
			v = n
		}
		fs.IntVar(p, name, v, doc+" ($"+env+")")
		vars = append(vars, envVar{env, name, strconv.Itoa(def), doc})
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, doc string) {
		v := def
		if e := getenv(env); e != "" {
			d, err := time.ParseDuration(e)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: not a duration (e.g. 5s)", env, e))
			}
			v = d
		}
		fs.DurationVar(p, name, v, doc+" ($"+env+")")
		vars = append(vars, envVar{env, name, def.String(), doc})
	}
	flt := func(p *float64, name, env string, def float64, doc string) {
		v := def
		if e := getenv(env); e != "" {
			f, err := strconv.ParseFloat(e, 64)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: not a number", env, e))
			}
			v = f
		}
		fs.Float64Var(p, name, v, doc+" ($"+env+")")
		vars = append(vars, envVar{env, name, strconv.FormatFloat(def, 'g', -1, 64), doc})
	}
	boolean := func(p *bool, name, env string, def bool, doc string) {
		v := def
		if e := getenv(env); e != "" {
			b, err := strconv.ParseBool(e)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: not a boolean", env, e))
			}
			v = b
		}
		fs.BoolVar(p, name, v, doc+" ($"+env+")")
		vars = append(vars, envVar{env, name, strconv.FormatBool(def), doc})
	}

	str(&c.Target, "target", "AUCTION_TARGET", "all", "components to run, comma-separated: "+strings.Join(targetNames(), ", "))
	str(&c.HTTPAddr, "http-addr", "AUCTION_HTTP_ADDR", ":8080", "HTTP listen address of the gateway")
	str(&c.AdminAddr, "admin-addr", "AUCTION_ADMIN_ADDR", "", "listen address of /healthz, /readyz and /metrics for this process's components (empty: off)")
	str(&c.Brokers, "kafka-brokers", "AUCTION_KAFKA_BROKERS", "", "Kafka bootstrap servers, comma-separated; empty runs an embedded broker")
	str(&c.KafkaProtocol, "kafka-security-protocol", "AUCTION_KAFKA_SECURITY_PROTOCOL", "", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (empty: PLAINTEXT)")
	str(&c.KafkaMechanism, "kafka-sasl-mechanism", "AUCTION_KAFKA_SASL_MECHANISM", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	str(&c.KafkaUser, "kafka-sasl-username", "AUCTION_KAFKA_SASL_USERNAME", "", "SASL user")
	str(&c.KafkaPassword, "kafka-sasl-password", "AUCTION_KAFKA_SASL_PASSWORD", "", "SASL password")
	str(&c.KafkaCAFile, "kafka-ca-file", "AUCTION_KAFKA_CA_FILE", "", "PEM file of the CAs that sign the brokers' certificates (empty: the system's)")
	str(&c.InstanceID, "instance-id", "AUCTION_INSTANCE_ID", "", "this replica's stable, unique name in its consumer groups: a restarted replica takes its partitions back at once (empty: dynamic membership)")
	num(&c.EmbeddedKafkaPort, "embedded-kafka-port", "AUCTION_EMBEDDED_KAFKA_PORT", 0, "port of the embedded broker on 127.0.0.1 (0: a free one)")
	num(&c.Partitions, "partitions", "AUCTION_PARTITIONS", 6, "partitions of every auction topic (they are co-partitioned)")
	num(&c.Replication, "replication", "AUCTION_REPLICATION", 1, "replication factor of the topics the platform creates, goka's table included")
	dur(&c.GokaFlush, "goka-flush", "AUCTION_GOKA_FLUSH", 0, "goka producer flush interval (0: as soon as possible; goka's default is 100ms)")
	str(&c.StateDir, "state-dir", "AUCTION_STATE_DIR", "", "folder kept across restarts for the processor's LevelDB table copies, with a real broker (empty: rebuilt from the table topics at each start, auction rows in memory, bid statuses in a scratch folder)")
	dur(&c.DeliveryTimeout, "delivery-timeout", "AUCTION_DELIVERY_TIMEOUT", 5*time.Second, "how long a write to Kafka may take before the request fails with 503")
	str(&c.JWTKey, "jwt-key", "AUCTION_JWT_KEY", "", "HMAC key for tokens, at least 32 bytes (empty in embedded mode: a generated one)")
	str(&c.JWTIssuer, "jwt-issuer", "AUCTION_JWT_ISSUER", "auction", "token issuer (iss)")
	str(&c.JWTAudience, "jwt-audience", "AUCTION_JWT_AUDIENCE", "auction-api", "token audience (aud)")
	dur(&c.CloseGrace, "close-grace", "AUCTION_CLOSE_GRACE", closer.DefaultGrace, "how long after endsAt an auction closes, so bids placed just before it still count")
	dur(&c.OutbidWindow, "outbid-window", "AUCTION_OUTBID_WINDOW", notify.DefaultOutbidWindow, "a bidder is told they were outbid on an item at most once in each window of this length (0: the default)")
	dur(&c.TokenTTL, "token-ttl", "AUCTION_TOKEN_TTL", time.Hour, "lifetime of issued tokens")
	boolean(&c.DemoUsers, "demo-users", "AUCTION_DEMO_USERS", true, "seed demo users and print how to use them")
	flt(&c.RateLimit, "rate-limit", "AUCTION_RATE_LIMIT", gateway.DefaultRateLimit.Rate, "authenticated requests per second per user (0: no limit)")
	num(&c.RateBurst, "rate-burst", "AUCTION_RATE_BURST", gateway.DefaultRateLimit.Burst, "requests a user may make at once before the rate applies")
	str(&c.CORSOrigins, "cors-origins", "AUCTION_CORS_ORIGINS", "", "web origins (https://shop.example, comma-separated) whose pages may call the API from a browser (empty: none; the platform's own page needs none)")
	dur(&c.UserCacheTTL, "user-cache-ttl", "AUCTION_USER_CACHE_TTL", 30*time.Second, "how stale the user profile used to enrich events may be (0: read the directory every time)")
	str(&c.Store, "store", "AUCTION_STORE", "memory", "where users, notifications, analytics and lineage live: memory or dynamodb")
	str(&c.DynamoEndpoint, "dynamodb-endpoint", "AUCTION_DYNAMODB_ENDPOINT", "", "DynamoDB endpoint URL (empty: AWS)")
	str(&c.DynamoRegion, "dynamodb-region", "AUCTION_DYNAMODB_REGION", "", "AWS region for DynamoDB (empty: from the AWS environment)")
	str(&c.UsersTable, "users-table", "AUCTION_USERS_TABLE", "auction-users", "DynamoDB table of the user directory")
	str(&c.NotificationsTable, "notifications-table", "AUCTION_NOTIFICATIONS_TABLE", "auction-notifications", "DynamoDB table of the notification outbox and inboxes")
	str(&c.AnalyticsTable, "analytics-table", "AUCTION_ANALYTICS_TABLE", "auction-analytics", "DynamoDB table of auction facts and aggregates")
	str(&c.LineageTable, "lineage-table", "AUCTION_LINEAGE_TABLE", "auction-lineage", "DynamoDB table of every auction's events (lineage)")
	str(&c.BidHistoryTable, "bid-history-table", "AUCTION_BID_HISTORY_TABLE", "auction-bid-history", "DynamoDB table of every item's decided bids (bid history)")
	str(&c.IdempotencyTable, "idempotency-table", "AUCTION_IDEMPOTENCY_TABLE", "auction-idempotency", "DynamoDB table of the gateways' Idempotency-Keys and their answers")
	str(&c.SMTPAddr, "smtp-addr", "AUCTION_SMTP_ADDR", "", "SMTP server (host:port) that notification emails go to; empty: inbox only, emails are logged")
	str(&c.SMTPFrom, "smtp-from", "AUCTION_SMTP_FROM", "auctions@auction.local", "sender address of notification emails")
	str(&c.SMTPUser, "smtp-user", "AUCTION_SMTP_USER", "", "SMTP user for PLAIN authentication (empty: none)")
	str(&c.SMTPPassword, "smtp-password", "AUCTION_SMTP_PASSWORD", "", "SMTP password")
	str(&c.LogLevel, "log-level", "AUCTION_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "AUCTION_LOG_FORMAT", "text", "text or json")

	if len(errs) > 0 {
		return vars, fmt.Errorf("bad environment: %s", strings.Join(errs, "; "))
	}
	return vars, nil
}

func (c *config) embedded() bool { return c.Brokers == "" }

// kafkaConfig is the cluster as the components see it.
func (c *config) kafkaConfig(brokers []string, clientID string) (kafkaio.Config, error) {
	sec, err := c.kafkaSecurity()
	if err != nil {
		return kafkaio.Config{}, err
	}
	return kafkaio.Config{Brokers: brokers, ClientID: clientID, Partitions: c.Partitions,
		Replication: c.Replication, DeliveryTimeout: c.DeliveryTimeout, Security: sec, InstanceID: c.InstanceID}, nil
}

// kafkaSecurity reads the Kafka security settings, CA file included.
func (c *config) kafkaSecurity() (kafkaio.Security, error) {
	sec := kafkaio.Security{Protocol: c.KafkaProtocol, Mechanism: c.KafkaMechanism,
		Username: c.KafkaUser, Password: c.KafkaPassword}
	if c.KafkaCAFile != "" {
		pem, err := os.ReadFile(c.KafkaCAFile)
		if err != nil {
			return sec, fmt.Errorf("AUCTION_KAFKA_CA_FILE: %w", err)
		}
		sec.CAPEM = pem
	}
	return sec, sec.Validate()
}

func (c *config) brokers() []string { return splitList(c.Brokers) }

// splitList reads a comma-separated setting, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// targets parses -target into a set, refusing unknown names.
func (c *config) targets() (map[string]bool, error) {
	set := map[string]bool{}
	for _, t := range strings.Split(c.Target, ",") {
		t = strings.TrimSpace(t)
		if t == "all" {
			for _, n := range targetNames() {
				set[n] = true
			}
			continue
		}
		if !knownTarget(t) {
			return nil, fmt.Errorf("unknown target %q (known: all, %s)", t, strings.Join(targetNames(), ", "))
		}
		set[t] = true
	}
	return set, nil
}

// validate reports settings that cannot work together.
func (c *config) validate() error {
	if c.Partitions < 1 || c.Replication < 1 {
		return fmt.Errorf("partitions and replication must be at least 1")
	}
	if c.Store != "memory" && c.Store != "dynamodb" {
		return fmt.Errorf("store %q: want memory or dynamodb", c.Store)
	}
	if !c.embedded() && c.JWTKey == "" {
		if ts, err := c.targets(); err == nil && ts[targetGateway] {
			return fmt.Errorf("AUCTION_JWT_KEY is required with an external Kafka: every gateway replica must share it")
		}
	}
	return nil
}

// envTable renders the settings as the README's markdown table.
func envTable(vars []envVar) string {
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	var b strings.Builder
	b.WriteString("| variable | flag | default | what it sets |\n|---|---|---|---|\n")
	for _, v := range vars {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | `-%s` | `%s` | %s |\n", v.Name, v.Flag, def, v.Doc)
	}
	return b.String()
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auctionflow/auction/cmd/lambda/internal/kafkaevent"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/functions/trigger"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
)

// rieModule is the module that pins the AWS Lambda Runtime Interface
// Emulator, and rieTool its command.
const (
	rieModule = "../../../infra/lambda/rie"
	rieTool   = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
)

// TestUnderTheLambdaRuntime runs notify as AWS Lambda runs it: built as a
// provided.al2023 bootstrap, started by the Runtime Interface Emulator,
// invoked over the emulator's invoke API with a Kafka event as the event
// source mapping delivers it, against a Kafka broker, dynalite and an SMTP
// server. A completion notifies the winner, the loser and the seller once
// each (inbox, email, auction.notifications); the same event invoked again
// notifies nobody twice; a record under another item's key is dead-lettered
// with its origin and the invocation still succeeds.
func TestUnderTheLambdaRuntime(t *testing.T) {
	brokers := kafkatest.Cluster(t)
	for _, topic := range []string{schemas.TopicItemComplete, schemas.TopicNotifications, schemas.TopicDeadLetter} {
		kafkatest.CatalogTopic(t, brokers, topic, 3)
	}
	endpoint := dynamotest.Endpoint(t)
	client, err := dynamotable.NewClient(t.Context(), endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	usersTable := dynamotest.NewTable(t, client, userdir.EnsureTable)
	notesTable := dynamotest.NewTable(t, client, notify.EnsureTable)
	dir := userdir.NewDynamo(client, usersTable)
	for _, u := range []userdir.User{
		{ID: "u-sam", Name: "Sam Seller", Email: "sam@example.com"},
		{ID: "u-bob", Name: "Bob Baker", Email: "bob@example.com"},
		{ID: "u-dan", Name: "Dan Dale", Email: "dan@example.com"},
	} {
		if err := dir.Create(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	mail := notifytest.StartMailServer(t, notifytest.MailServerOptions{})

	bin := t.TempDir()
	goBuild(t, "", "-tags", "lambda.norpc", "-o", filepath.Join(bin, "bootstrap"), ".")
	goBuild(t, rieModule, "-o", filepath.Join(bin, "aws-lambda-rie"), rieTool)
	addr := freeAddr(t)
	rie := exec.Command(filepath.Join(bin, "aws-lambda-rie"), "--runtime-interface-emulator-address", addr, filepath.Join(bin, "bootstrap"))
	rie.Env = append(os.Environ(),
		"AUCTION_KAFKA_BROKERS="+strings.Join(brokers, ","), "AUCTION_DYNAMODB_ENDPOINT="+endpoint,
		"AUCTION_USERS_TABLE="+usersTable, "AUCTION_NOTIFICATIONS_TABLE="+notesTable, "AUCTION_SMTP_ADDR="+mail.Addr,
		"AWS_LAMBDA_FUNCTION_NAME=notify", "AWS_LAMBDA_FUNCTION_TIMEOUT=30")
	var logs syncBuffer
	rie.Stdout, rie.Stderr = &logs, &logs
	if err := rie.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rie.Process.Kill()
		_ = rie.Wait()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})

	run := time.Now().UnixNano()
	done := schemas.ItemCompleted{ItemID: fmt.Sprintf("item-%d", run), SellerID: "u-sam", Title: "Brass telescope", Category: "optics",
		Sold: true, WinnerID: "u-bob", Price: &schemas.Money{Amount: 15000, Currency: "EUR"}, ReserveMet: true, BidCount: 2,
		Bidders: []string{"u-bob", "u-dan"}, EndsAt: time.Now().Add(-2 * time.Second).UTC(), ClosedAt: time.Now().UTC()}
	ev := kafkaevent.Event(
		trigger.Record{Topic: schemas.TopicItemComplete, Partition: 1, Offset: 41, Message: completion(t, "done-1", done.ItemID, done)},
		trigger.Record{Topic: schemas.TopicItemComplete, Partition: 1, Offset: 42, Message: completion(t, "done-2", "item-other", done)},
	)

	first := invoke(t, addr, ev)
	t.Logf("first invocation (cold start): %s", first)
	waitFor(t, "three notifications", func() bool { return len(mail.Mails()) >= 3 })
	for _, user := range []string{"u-sam", "u-bob", "u-dan"} {
		ns, err := notify.NewDynamo(client, notesTable).ForUser(t.Context(), user, 10)
		if err != nil || len(ns) != 1 {
			t.Errorf("inbox of %s: %d notifications (%v), want 1", user, len(ns), err)
		}
	}
	// This run's records: on a shared broker, the topics hold other tests' too.
	ours := func(topic string) []kafkatest.Record {
		var out []kafkatest.Record
		if n := int(kafkatest.Count(t, brokers, topic, 3)); n > 0 {
			for _, r := range kafkatest.ReadN(t, brokers, topic, n, 30*time.Second) {
				if bytes.Contains(r.Value, []byte(done.ItemID)) {
					out = append(out, r)
				}
			}
		}
		return out
	}
	waitFor(t, "three announcements", func() bool { return len(ours(schemas.TopicNotifications)) >= 3 })
	waitFor(t, "a dead letter", func() bool { return len(ours(schemas.TopicDeadLetter)) >= 1 })
	letters := ours(schemas.TopicDeadLetter)
	if v, _ := letters[0].Header(schemas.HeaderDLQOffset); len(letters) != 1 || string(v) != "42" {
		t.Errorf("%d dead letters, the first from offset %q; want one, from 42 (the record under another item's key)", len(letters), v)
	}

	second := invoke(t, addr, ev)
	t.Logf("second invocation (warm): %s", second)
	if n := len(mail.Mails()); n != 3 {
		t.Errorf("after the same event again: %d emails, want 3 (each once)", n)
	}
	ids := map[string]bool{}
	// A redelivered completion may be announced again, under the same ids.
	announced := ours(schemas.TopicNotifications)
	total := len(announced)
	for _, r := range announced {
		e, err := cekafka.Decode(r.Message)
		if err != nil {
			t.Fatal(err)
		}
		ids[e.ID()] = true
	}
	if len(ids) != 3 {
		t.Errorf("announcements: %d records, %d distinct events, want 3", total, len(ids))
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "Duration") || strings.Contains(l, "INIT REPORT") || strings.Contains(l, `"initialised"`) {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// invoke sends ev to the emulator's invoke API and returns how long the
// call took; the function must not have failed.
func invoke(t *testing.T, addr string, ev events.KafkaEvent) time.Duration {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(30 * time.Second)
	for {
		began := time.Now()
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("invoke: %v", err)
			}
			<-time.After(50 * time.Millisecond) // the emulator is starting: poll until it listens
			continue
		}
		took := time.Since(began)
		var out bytes.Buffer
		_, _ = out.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(out.String(), "errorMessage") {
			t.Fatalf("invoke: %d %s, want the function to succeed", resp.StatusCode, out.String())
		}
		return took
	}
}

func completion(t *testing.T, id, key string, ic schemas.ItemCompleted) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(schemas.TypeItemCompleted, schemas.Meta{ID: id, Source: "/test/processor", Subject: ic.ItemID, Key: key, Time: ic.ClosedAt}, ic)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func goBuild(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// syncBuffer is a buffer two writers may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Package lambdatest runs a function of cmd/lambda as AWS Lambda runs it,
// for its tests: built as a provided.al2023 bootstrap, started by the AWS
// Lambda Runtime Interface Emulator (pinned in infra/lambda/rie), invoked
// over the emulator's invoke API.
package lambdatest

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

const rieTool = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Emulator is one function running under the emulator.
type Emulator struct {
	addr string
	logs syncbuf.Buffer
}

// Start builds the function in the current directory (the test's package)
// and runs it under the emulator with env added to the test's environment.
// It stops when t ends, printing the emulator's and function's output if t
// failed.
func Start(t *testing.T, env ...string) *Emulator {
	t.Helper()
	return StartPackage(t, ".", env...)
}

// StartPackage is Start for the function of the main package pkg (a path
// relative to the test's package: "../placeitem").
func StartPackage(t *testing.T, pkg string, env ...string) *Emulator {
	t.Helper()
	bin := t.TempDir()
	goBuild(t, "", "-tags", "lambda.norpc", "-o", filepath.Join(bin, "bootstrap"), pkg)
	goBuild(t, rieDir(t), "-o", filepath.Join(bin, "aws-lambda-rie"), rieTool)
	e := &Emulator{addr: freeAddr(t)}
	// Each emulator has a Runtime API of its own (the default, 9001, is one
	// for all), so a test may run several functions at once.
	cmd := exec.Command(filepath.Join(bin, "aws-lambda-rie"), "--runtime-interface-emulator-address", e.addr,
		"--runtime-api-address", freeAddr(t), filepath.Join(bin, "bootstrap"))
	cmd.Env = append(append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=30"), env...)
	cmd.Stdout, cmd.Stderr = &e.logs, &e.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function output of %s:\n%s", pkg, e.logs.String())
		}
	})
	return e
}

// Invoke sends event (JSON-encoded) to the function and returns how long
// the call took; the function must have succeeded.
func (e *Emulator) Invoke(t *testing.T, event any) time.Duration {
	t.Helper()
	return e.Call(t, event, nil)
}

// Call is Invoke that decodes the function's answer into out (unless nil).
func (e *Emulator) Call(t *testing.T, event, out any) time.Duration {
	t.Helper()
	body, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + e.addr + "/2015-03-31/functions/function/invocations"
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
		var answer bytes.Buffer
		_, _ = answer.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Contains(answer.String(), "errorMessage") {
			t.Fatalf("invoke: %d %s, want the function to succeed", resp.StatusCode, answer.String())
		}
		if out != nil {
			if err := json.Unmarshal(answer.Bytes(), out); err != nil {
				t.Fatalf("invoke: answer %s: %v", answer.String(), err)
			}
		}
		return took
	}
}

// LogFigures logs what the emulator and the function said of the init
// phase and of each invocation's duration.
func (e *Emulator) LogFigures(t *testing.T) {
	t.Helper()
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "Duration") || strings.Contains(l, "INIT REPORT") || strings.Contains(l, `"initialised"`) {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// WaitFor polls ok until it holds, failing t after 30 s.
func WaitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// rieDir is infra/lambda/rie, found from this file.
func rieDir(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "infra", "lambda", "rie")
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

// Completion is ic as the processor writes it to auction.item-complete,
// with event id id, under key (the item's, unless a test breaks it).
func Completion(t *testing.T, id, key string, ic schemas.ItemCompleted) cekafka.Message {
	t.Helper()
	return Message(t, schemas.TypeItemCompleted, schemas.Meta{ID: id, Source: "/test/processor", Subject: ic.ItemID, Key: key, Time: ic.ClosedAt}, ic)
}

// Message is the event of type, meta and data as the platform writes it
// to Kafka.
func Message(t *testing.T, typ string, meta schemas.Meta, data any) cekafka.Message {
	t.Helper()
	e, err := schemas.NewEvent(typ, meta, data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Stores are the broker and the DynamoDB server a function's test runs
// against: the embedded broker or KAFKA_BROKERS, with topics created, and
// dynalite or DYNAMODB_ENDPOINT.
type Stores struct {
	Brokers  []string
	Endpoint string
	Dynamo   *dynamodb.Client
}

// Env is the function's settings for s.
func (s Stores) Env() []string {
	return []string{"AUCTION_KAFKA_BROKERS=" + strings.Join(s.Brokers, ","), "AUCTION_DYNAMODB_ENDPOINT=" + s.Endpoint}
}

// NewStores starts or finds them, creating topics (the catalog's, with 3
// partitions).
func NewStores(t *testing.T, topics ...string) Stores {
	t.Helper()
	s := Stores{Brokers: kafkatest.Cluster(t), Endpoint: dynamotest.Endpoint(t)}
	for _, topic := range topics {
		kafkatest.CatalogTopic(t, s.Brokers, topic, 3)
	}
	var err error
	if s.Dynamo, err = dynamotable.NewClient(t.Context(), s.Endpoint, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// Request is the event an HTTP API of API Gateway (payload format 2.0)
// sends its route's function for a request of method to target (a path,
// maybe with a query) with body and headers, from 198.51.100.7.
func Request(method, target, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	path, query, _ := strings.Cut(target, "?")
	h := map[string]string{"host": "api.auction.example", "user-agent": "lambdatest", "x-forwarded-proto": "https"}
	if body != "" {
		h["content-type"], h["content-length"] = "application/json", strconv.Itoa(len(body))
	}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "$default", AccountID: "123456789012", Stage: "$default", APIID: "auction", DomainName: "api.auction.example",
			RequestID: strconv.FormatInt(time.Now().UnixNano(), 36), Time: time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1",
				SourceIP: "198.51.100.7", UserAgent: "lambdatest"},
		},
	}
}

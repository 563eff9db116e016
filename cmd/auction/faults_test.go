package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
)

// EnvFaults turns the fault suite on (make test-faults); EnvFaultsSeed
// replays a run: the seed decides the auctions, the bids and the order and
// timing of the faults.
const (
	EnvFaults     = "AUCTION_FAULTS"
	EnvFaultsSeed = "AUCTION_FAULTS_SEED"
	// EnvFaultsOnly narrows a run to some faults (comma-separated kinds,
	// e.g. "broker,closer"), to chase one of them.
	EnvFaultsOnly = "AUCTION_FAULTS_ONLY"
)

// The fault suite's shape: a fault every faultGap after warmUp, the
// workload until every fault has passed, then the auctions close.
const (
	faultWarmUp   = 10 * time.Second
	faultGap      = 10 * time.Second
	faultSettle   = 90 * time.Second // after the workload: every auction closed, every notification sent
	bidInterval   = 50 * time.Millisecond
	replayedKeys  = 300 // answered bids sent again with their keys
	faultBidders  = 4
	faultReadyMax = 60 * time.Second
)

// TestFaults is the fault suite (make test-faults). It runs the platform as
// separate processes on a real Kafka broker that the test owns (so it can
// restart it), with dynalite and an SMTP server; drives many short auctions
// with single, batched and Prefer: wait bids; and SIGKILLs every kind of
// component, one fault at a time, in an order and at times the seed picks,
// and restarts the broker. Then a checker reads every topic from the
// beginning and replays the auction rules in log order (history.go): every
// acknowledged bid must have exactly one verdict, equal to the replay's;
// every auction exactly one completion, equal to the replay's; every inbox
// and every email exactly one notification per (item, user, kind); the
// analytics equal to the replay. It prints, per fault, the time the
// component was down, the time it took to be ready again and the worst
// verdict latency of the bids placed around it.
func TestFaults(t *testing.T) {
	if os.Getenv(EnvFaults) == "" {
		t.Skipf("the fault suite runs with %s=1 (make test-faults)", EnvFaults)
	}
	runFaults(t, "test-faults", 1, []string{"processor", "processors", "closer", "notify", "analytics", "lineage", "gateway", "broker"})
}

// TestFaultsCluster is the fault suite's replicated mode (make
// test-faults-cluster): three KRaft nodes on 127.0.0.1, every topic with
// three replicas and min.insync.replicas 2, and the node that leads the
// busiest partition of auction.bids SIGKILLed three times mid-run, besides
// a processor and the gateway. The same checker must find nothing lost and
// nothing decided twice: a leader failover keeps every record written with
// acks=all, goka's table and outputs included.
func TestFaultsCluster(t *testing.T) {
	if os.Getenv(EnvFaults) == "" {
		t.Skipf("the fault suite runs with %s=1 (make test-faults-cluster)", EnvFaults)
	}
	runFaults(t, "test-faults-cluster", 3, []string{"leader", "leader", "leader", "processor", "gateway"})
}

// runFaults runs the fault suite (make target) on a broker of nodes nodes,
// with faults in an order the seed picks.
func runFaults(t *testing.T, target string, nodes int, faults []string) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(EnvFaultsSeed); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", EnvFaultsSeed, s, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with %s=%d make %s)", seed, EnvFaultsSeed, seed, target)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	endpoint := dynamotest.Endpoint(t)
	broker := startOwnBroker(t, nodes)
	mail := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	bin := buildAuction(t)

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	httpAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	common := map[string]string{
		"AUCTION_KAFKA_BROKERS":       strings.Join(broker.addrs, ","),
		"AUCTION_PARTITIONS":          "3",
		"AUCTION_REPLICATION":         strconv.Itoa(min(nodes, 3)),
		"AUCTION_STORE":               "dynamodb",
		"AUCTION_DYNAMODB_ENDPOINT":   endpoint,
		"AUCTION_DYNAMODB_REGION":     "us-east-1",
		"AUCTION_USERS_TABLE":         dynamotest.Table(t),
		"AUCTION_NOTIFICATIONS_TABLE": dynamotest.Table(t),
		"AUCTION_ANALYTICS_TABLE":     dynamotest.Table(t),
		"AUCTION_LINEAGE_TABLE":       dynamotest.Table(t),
		"AUCTION_JWT_KEY":             hex.EncodeToString(key),
		"AUCTION_CLOSE_GRACE":         "2s",
		"AUCTION_SMTP_ADDR":           mail.Addr,
		"AUCTION_LOG_FORMAT":          "json",
		"AUCTION_HTTP_ADDR":           httpAddr,
		"AUCTION_RATE_LIMIT":          "0",
		"AUCTION_DEMO_USERS":          "false",
	}
	initialiseTopology(t, bin, common)
	procs := &topoProcs{}
	procs.guard(t)
	cluster := &faultCluster{t: t, bin: bin, common: common, procs: procs, broker: broker, api: "http://" + httpAddr,
		live: map[string]*topoProc{}, envs: map[string]map[string]string{}}
	cluster.start("gateway", map[string]string{"AUCTION_TARGET": "gateway"})
	for _, n := range []string{"processor-1", "processor-2"} {
		cluster.start(n, map[string]string{"AUCTION_TARGET": "processor", "AUCTION_STATE_DIR": t.TempDir()})
	}
	for _, n := range []string{"closer", "notify", "analytics", "lineage"} {
		cluster.start(n, map[string]string{"AUCTION_TARGET": n})
	}
	p := &testPlatform{base: "http://" + httpAddr, brokers: broker.addrs}
	cluster.awaitReady(cluster.names()...)

	nonce := strings.ToLower(rand.Text()[:8])
	dynamo, err := dynamotable.NewClient(t.Context(), endpoint, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	w := &workload{t: t, base: p.base, category: "faults-" + nonce, acked: map[string]ackedBid{},
		inbox: notify.NewDynamo(dynamo, common["AUCTION_NOTIFICATIONS_TABLE"])}
	w.seller = w.user(register(t, p, "Sam Seller", "seller-"+nonce+"@example.com"), p)
	for i := range faultBidders {
		w.bidders = append(w.bidders, w.user(register(t, p, fmt.Sprintf("Bidder %d", i), fmt.Sprintf("bidder%d-%s@example.com", i, nonce)), p))
	}

	if only := os.Getenv(EnvFaultsOnly); only != "" {
		faults = strings.Split(only, ",")
	}
	rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	runFor := faultWarmUp + time.Duration(len(faults))*faultGap

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	began := time.Now()
	itemRng := mrand.New(mrand.NewPCG(rng.Uint64(), 1))
	wg.Add(1)
	go func() { defer wg.Done(); w.placeItems(ctx, itemRng) }()
	for i := range w.bidders {
		wg.Add(1)
		r := mrand.New(mrand.NewPCG(rng.Uint64(), uint64(i)))
		go func() { defer wg.Done(); w.bid(ctx, r, w.bidders[i]) }()
	}

	var report []faultReport
	for i, kind := range faults {
		at := began.Add(faultWarmUp + time.Duration(i)*faultGap)
		<-time.After(time.Until(at))
		down := time.Duration(1000+rng.IntN(2000)) * time.Millisecond
		report = append(report, cluster.inject(kind, down))
	}
	// A fault can outlast its slot (a cluster node takes a while to come
	// back): the workload goes on for a slot after the last one.
	<-time.After(max(time.Until(began.Add(runFor)), faultGap))
	stop()
	wg.Wait()
	t.Logf("workload done after %s: %d requests, %d bids acknowledged", time.Since(began).Round(time.Second), w.requests, len(w.acked))
	// A process the suite did not kill must still be running: one that
	// exited by itself (a fatal client error) is a fault of the platform,
	// whatever the checker finds downstream of it.
	cluster.procs.mu.Lock()
	for _, p := range cluster.procs.procs {
		if p.exited() && !p.stopped {
			t.Errorf("%s exited by itself: %v; its last words: %s", p.name, p.err, lastLine(p.stderr.String()))
		}
	}
	cluster.procs.mu.Unlock()

	var gatewayKilled time.Time
	for _, r := range report {
		if r.kind == "gateway" {
			gatewayKilled = r.at
		}
	}
	w.replayKeys(context.Background(), gatewayKilled)
	h := readHistory(t, broker.addrs, w, faultSettle, mail)
	h.report(t, report)
	if t.Failed() {
		return
	}
	cluster.procs.stopAll(t, topoStopTimeout)
}

// ownBroker is a Kafka broker (one node, or a cluster of several) the
// suite starts, kills and resumes with infra/kafka/kafka.sh, on ports of
// its own.
type ownBroker struct {
	addrs []string // node i+1's client address
	env   []string
}

func startOwnBroker(t *testing.T, nodes int) *ownBroker {
	t.Helper()
	var ports, controllers []string
	b := &ownBroker{}
	for range nodes {
		port := strconv.Itoa(freePort(t))
		ports, controllers = append(ports, port), append(controllers, strconv.Itoa(freePort(t)))
		b.addrs = append(b.addrs, "127.0.0.1:"+port)
	}
	b.env = append(os.Environ(), "KAFKA_PORT="+strings.Join(ports, ","), "KAFKA_CONTROLLER_PORT="+strings.Join(controllers, ","),
		"KAFKA_DATA="+filepath.Join(t.TempDir(), "kafka"))
	b.run(t, "fetch")
	b.run(t, "start")
	t.Cleanup(func() { b.run(t, "stop") })
	return b
}

// run runs kafka.sh verb, with args (a node ID) if any.
func (b *ownBroker) run(t *testing.T, verb string, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join("..", "..", "infra", "kafka", "kafka.sh"), verb}, args...)...)
	cmd.Env = b.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kafka.sh %s %v: %v\n%s", verb, args, err, out)
	}
}

// busiestLeader returns the node that leads the partition of auction.bids
// with the most records, and the partitions of the platform's topics it
// leads ("topic/partition"). Leadership may be moving (a node that came
// back takes its partitions again), so it asks again until every partition
// has a leader that answers.
func (b *ownBroker) busiestLeader(t *testing.T, procs *topoProcs) (node int32, leads []string) {
	t.Helper()
	c := b.metadataClient(t)
	defer c.Close()
	procs.poll(t, faultReadyMax, "the leader of the busiest partition of "+schemas.TopicBids, func() (bool, string) {
		md, err := c.GetMetadata(nil, true, 2000)
		if err != nil {
			return false, err.Error()
		}
		busiest := int64(-1)
		for _, p := range md.Topics[schemas.TopicBids].Partitions {
			_, high, err := c.QueryWatermarkOffsets(schemas.TopicBids, p.ID, 2000)
			if err != nil {
				return false, fmt.Sprintf("watermarks of %s/%d: %v", schemas.TopicBids, p.ID, err)
			}
			if high > busiest {
				busiest, node = high, p.Leader
			}
		}
		leads = leads[:0]
		for name, tm := range md.Topics {
			for _, p := range tm.Partitions {
				if p.Leader == node && strings.HasPrefix(name, "auction") {
					leads = append(leads, fmt.Sprintf("%s/%d", name, p.ID))
				}
			}
		}
		return node > 0, fmt.Sprintf("no leader of the busiest partition (%d)", node)
	})
	slices.Sort(leads)
	return node, leads
}

// awaitFailover waits until no partition of the platform's topics names
// node, just killed, as its leader, and returns how long that took.
func (b *ownBroker) awaitFailover(t *testing.T, procs *topoProcs, node int32) time.Duration {
	t.Helper()
	began := time.Now()
	c := b.metadataClient(t)
	defer c.Close()
	procs.poll(t, faultReadyMax, fmt.Sprintf("leaders moved off node %d", node), func() (bool, string) {
		md, err := c.GetMetadata(nil, true, 2000)
		if err != nil {
			return false, err.Error()
		}
		var still []string
		for name, tm := range md.Topics {
			for _, p := range tm.Partitions {
				if strings.HasPrefix(name, "auction") && (p.Leader == node || p.Leader < 0) {
					still = append(still, fmt.Sprintf("%s/%d", name, p.ID))
				}
			}
		}
		return len(still) == 0, fmt.Sprintf("still led by node %d or by none: %v", node, still)
	})
	return time.Since(began)
}

// metadataClient is a client that asks for metadata and offsets only (it
// joins no group).
func (b *ownBroker) metadataClient(t *testing.T) *kafka.Consumer {
	t.Helper()
	return kafkatest.Consumer(t, kafka.ConfigMap{"bootstrap.servers": strings.Join(b.addrs, ","), "group.id": "fault-checker", "log_level": 0})
}

// faultCluster is the platform's processes by name, each restartable with
// the environment it was first started with.
type faultCluster struct {
	t      *testing.T
	bin    string
	common map[string]string
	procs  *topoProcs
	broker *ownBroker
	api    string // the gateway's base URL: its /readyz says its views have recovered
	mu     sync.Mutex
	live   map[string]*topoProc
	envs   map[string]map[string]string
	order  []string
}

func (c *faultCluster) start(name string, env map[string]string) *topoProc {
	c.t.Helper()
	if _, known := c.envs[name]; !known {
		env["AUCTION_INSTANCE_ID"] = name // stable across restarts: static membership
		c.envs[name] = env
		c.order = append(c.order, name)
	}
	p := c.procs.start(c.t, c.bin, name, c.common, c.envs[name])
	c.mu.Lock()
	c.live[name] = p
	c.mu.Unlock()
	return p
}

func (c *faultCluster) names() []string { return c.order }

// awaitReady waits until every named process answers 200 on /readyz, and
// returns how long that took; the log says when each one was.
func (c *faultCluster) awaitReady(names ...string) time.Duration {
	c.t.Helper()
	began := time.Now()
	readyAt := map[string]time.Duration{}
	c.procs.poll(c.t, faultReadyMax, fmt.Sprintf("%v ready", names), func() (bool, string) {
		var waiting []string
		for _, n := range names {
			if _, done := readyAt[n]; done {
				continue
			}
			if why := c.notReady(n); why != "" {
				waiting = append(waiting, why)
				continue
			}
			readyAt[n] = time.Since(began)
		}
		return len(waiting) == 0, strings.Join(waiting, "; ")
	})
	if len(names) > 1 {
		c.t.Logf("ready after: %v", readyAt)
	}
	return time.Since(began)
}

// notReady says why the process name is not ready, or "" if it is.
func (c *faultCluster) notReady(name string) string {
	c.mu.Lock()
	p := c.live[name]
	c.mu.Unlock()
	urls := []string{p.admin + "/readyz"}
	if name == "gateway" {
		urls = append(urls, c.api+"/readyz")
	}
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			return fmt.Sprintf("%s %s: %v", name, u, err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprintf("%s %s: %d %s", name, u, resp.StatusCode, strings.TrimSpace(body.String()))
		}
	}
	return ""
}

// faultReport is what one fault did.
type faultReport struct {
	kind    string
	at      time.Time
	down    time.Duration // from the SIGKILL to the restart (for the broker: until it answered again)
	toReady time.Duration // from the restart until every affected process was ready
}

// inject SIGKILLs the processes of kind (or the broker), waits down, starts
// them again and waits until they are ready.
func (c *faultCluster) inject(kind string, down time.Duration) faultReport {
	c.t.Helper()
	r := faultReport{kind: kind, at: time.Now()}
	if kind == "leader" {
		node, leads := c.broker.busiestLeader(c.t, c.procs)
		id := strconv.Itoa(int(node))
		c.broker.run(c.t, "kill", id)
		failover := c.broker.awaitFailover(c.t, c.procs, node)
		<-time.After(down - time.Since(r.at))
		c.broker.run(c.t, "resume", id)
		r.down = time.Since(r.at)
		r.kind = fmt.Sprintf("leader (node %s, failover %s)", id, failover.Round(10*time.Millisecond))
		r.toReady = c.awaitReady(c.names()...)
		c.t.Logf("fault %s: SIGKILL of node %s, leader of %v; leaders moved after %s; down %s, everything ready %s after it answered",
			kind, id, leads, failover.Round(time.Millisecond), r.down.Round(time.Millisecond), r.toReady.Round(time.Millisecond))
		return r
	}
	if kind == "broker" {
		c.broker.run(c.t, "kill")
		<-time.After(down)
		c.broker.run(c.t, "resume")
		r.down = time.Since(r.at)
		r.toReady = c.awaitReady(c.names()...)
		c.t.Logf("fault %s: down %s, everything ready %s after it answered", kind, r.down.Round(time.Millisecond), r.toReady.Round(time.Millisecond))
		return r
	}
	names := []string{kind}
	switch kind {
	case "processor":
		names = []string{"processor-1"}
	case "processors":
		names = []string{"processor-1", "processor-2"}
	}
	for _, n := range names {
		c.mu.Lock()
		p := c.live[n]
		c.mu.Unlock()
		p.stopped = true // an exit is expected now
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	<-time.After(down)
	r.down = time.Since(r.at)
	for _, n := range names {
		c.start(n, nil)
	}
	r.toReady = c.awaitReady(names...)
	c.t.Logf("fault %s: SIGKILL, down %s, ready %s after restart", kind, r.down.Round(time.Millisecond), r.toReady.Round(time.Millisecond))
	return r
}

// workload places items and bids over HTTP and records what the platform
// acknowledged.
type workload struct {
	t        *testing.T
	base     string
	category string
	inbox    *notify.Dynamo // the notifications table, read by the checker
	seller   *faultUser
	bidders  []*faultUser

	mu       sync.Mutex
	items    []*faultItem
	acked    map[string]ackedBid // bid id → what the client was told
	answered []keyedBid          // single bids sent with a key and answered
	requests int
}

// keyedBid is a single bid the platform answered, to send again with its
// Idempotency-Key after the gateways have been killed and restarted.
type keyedBid struct {
	user      *faultUser
	path, key string
	body      string
	hdr       map[string]string
	code      int
	bidID     string
	at        time.Time
}

type faultUser struct {
	id, token string
}

type faultItem struct {
	id     string
	endsAt time.Time
	next   int64 // the amount the next bid on it offers
}

// ackedBid is a bid the platform acknowledged (202, or 200/409 after Prefer: wait).
type ackedBid struct {
	itemID, bidderID string
	amount           int64
	at               time.Time
	verdict          string // "accepted" or the reason code when the client waited; "" otherwise
}

func (w *workload) user(token string, p *testPlatform) *faultUser {
	return &faultUser{id: userID(w.t, p, token), token: token}
}

// placeItems places an item every two seconds until ctx ends; durations
// are 10–25 s, one in five has a reserve out of reach, and one in three a
// soft close (a bid in the last 10 s moves the end 10 s, once at most), so
// the closer and the processor must agree on moved ends across the faults.
func (w *workload) placeItems(ctx context.Context, rng *mrand.Rand) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for n := 0; ctx.Err() == nil; n++ {
		reserve := ""
		if rng.IntN(5) == 0 {
			reserve = `,"reservePrice":100000000`
		}
		if rng.IntN(3) == 0 {
			reserve += `,"softClose":{"windowSeconds":10,"maxExtensionSeconds":10}`
		}
		dur := 10 + rng.IntN(16)
		body := fmt.Sprintf(`{"title":"Fault lot %d","category":%q,"currency":"EUR","startingPrice":1000%s,"durationSeconds":%d}`,
			n, w.category, reserve, dur)
		var placed struct{ ItemID string }
		if code, _ := w.post(ctx, w.seller, "/v1/items", body, nil, &placed); code == http.StatusAccepted {
			w.mu.Lock()
			w.items = append(w.items, &faultItem{id: placed.ItemID, endsAt: time.Now().Add(time.Duration(dur) * time.Second), next: 1000})
			w.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// open picks an item that is still open for a while, and the amount to bid
// on it: mostly a raise, sometimes too little.
func (w *workload) open(rng *mrand.Rand) (*faultItem, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var open []*faultItem
	for _, it := range w.items {
		if time.Until(it.endsAt) > 500*time.Millisecond {
			open = append(open, it)
		}
	}
	if len(open) == 0 {
		return nil, 0
	}
	it := open[rng.IntN(len(open))]
	if rng.IntN(6) == 0 {
		return it, max(1000, it.next-50)
	}
	it.next += int64(10 * (1 + rng.IntN(3)))
	return it, it.next
}

// bid places bids as u until ctx ends: single bids, Prefer: wait bids and
// batches of up to ten.
func (w *workload) bid(ctx context.Context, rng *mrand.Rand, u *faultUser) {
	tick := time.NewTicker(bidInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		switch mode := rng.IntN(10); {
		case mode < 6:
			w.single(ctx, rng, u, false)
		case mode < 8:
			w.single(ctx, rng, u, true)
		default:
			w.batch(ctx, rng, u)
		}
	}
}

func (w *workload) single(ctx context.Context, rng *mrand.Rand, u *faultUser, wait bool) {
	it, amount := w.open(rng)
	if it == nil {
		return
	}
	key := uuid.NewString()
	hdr := map[string]string{"Idempotency-Key": key}
	if wait {
		hdr["Prefer"] = "wait=5"
	}
	var body struct {
		Status string
		Errors []struct{ Code string }
	}
	path, sent := "/v1/items/"+it.id+"/bids", fmt.Sprintf(`{"amount":%d}`, amount)
	code, header := w.post(ctx, u, path, sent, hdr, &body)
	b := ackedBid{itemID: it.id, bidderID: u.id, amount: amount, at: time.Now()}
	switch {
	case code == http.StatusAccepted:
	case code == http.StatusOK:
		b.verdict = "accepted"
	case code == http.StatusConflict && header.Get("Location") != "":
		// The processor's verdict on a bid in the log; a 409 without a
		// Location is the edge refusing the bid before it got there.
		if len(body.Errors) == 1 {
			b.verdict = body.Errors[0].Code
		}
	default:
		return // refused at the edge, or not known to be in the log
	}
	id := placebid.IdempotentID(key, placebid.Request{BidderID: u.id, ItemID: it.id, Amount: amount})
	w.mu.Lock()
	w.acked[id] = b
	w.answered = append(w.answered, keyedBid{user: u, path: path, key: key, body: sent, hdr: hdr, code: code, bidID: id, at: b.at})
	w.mu.Unlock()
}

// replayKeys sends up to replayedKeys of the answered single bids again,
// with their Idempotency-Keys, once the faults are over: the gateway has
// been SIGKILLed and restarted since most of them, so only the shared
// record of keys (DynamoDB) can answer them. Each must get its first answer
// back, marked replayed, with the same bid id; the checker then finds that
// none of them was decided twice.
func (w *workload) replayKeys(ctx context.Context, gatewayKilled time.Time) {
	w.t.Helper()
	sample := w.answered
	if step := len(sample)/replayedKeys + 1; step > 1 {
		sample = nil
		for i := 0; i < len(w.answered); i += step {
			sample = append(sample, w.answered[i])
		}
	}
	var before, wrong int
	for _, k := range sample {
		if k.at.Before(gatewayKilled) {
			before++
		}
		var code int
		header := http.Header{}
		for attempt := 0; attempt < 3 && code == 0; attempt++ {
			code, header = w.post(ctx, k.user, k.path, k.body, k.hdr, nil)
		}
		// Every answer that put the bid in the log names it in Location.
		if loc := header.Get("Location"); code != k.code || loc != "/v1/bids/"+k.bidID || header.Get("Idempotent-Replayed") != "true" {
			if wrong++; wrong <= 5 {
				w.t.Errorf("bid %s sent again with its key %s: %d, Location %q, replayed %q; want the first answer %d, /v1/bids/%s, replayed",
					k.bidID, k.key, code, loc, header.Get("Idempotent-Replayed"), k.code, k.bidID)
			}
		}
	}
	w.t.Logf("Idempotency-Keys: %d answered bids sent again (%d of them answered before the last gateway restart): %d replayed as first answered, %d not",
		len(sample), before, len(sample)-wrong, wrong)
}

func (w *workload) batch(ctx context.Context, rng *mrand.Rand, u *faultUser) {
	type one struct {
		ItemID string `json:"itemId"`
		Amount int64  `json:"amount"`
	}
	var bids []one
	for range 1 + rng.IntN(10) {
		if it, amount := w.open(rng); it != nil {
			bids = append(bids, one{it.id, amount})
		}
	}
	if len(bids) == 0 {
		return
	}
	body, _ := json.Marshal(map[string]any{"bids": bids})
	var out struct {
		Results []struct{ ItemID, BidID, Status string }
	}
	if code, _ := w.post(ctx, u, "/v1/bids", string(body), nil, &out); code != http.StatusAccepted {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, r := range out.Results {
		if r.Status == "pending" && i < len(bids) {
			w.acked[r.BidID] = ackedBid{itemID: r.ItemID, bidderID: u.id, amount: bids[i].Amount, at: now}
		}
	}
}

// post sends body as u and decodes the answer into out; it returns the
// status, or 0 if there was no answer.
func (w *workload) post(ctx context.Context, u *faultUser, path, body string, hdr map[string]string, out any) (int, http.Header) {
	w.mu.Lock()
	w.requests++
	w.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodPost, w.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if out != nil {
		_ = json.Unmarshal(buf.Bytes(), out)
	}
	return resp.StatusCode, resp.Header
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

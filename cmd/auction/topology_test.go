package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"

	"github.com/IBM/sarama"

	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
)

// Deadlines of the topology test. The ones that span a goka rebalance or a
// consumer group joining are generous: a member learns of a rebalance only
// at its next heartbeat (sarama: every 3 s), goka then waits 5 s before it
// rejoins, and recovers the partitions it gained from the table topic.
const (
	topoStartTimeout   = 60 * time.Second // every process up, gateway ready, processors ready
	topoVerdictTimeout = 30 * time.Second // a bid answered 202 is decided
	topoCloseTimeout   = 40 * time.Second // after the last endsAt, every item closed
	topoOutOfBand      = 30 * time.Second // after the closes, inboxes, emails and analytics
	// topoOutbidWindow puts the whole run in one window of outbid notices:
	// windows are counted from the Unix epoch, and the next boundary of
	// this one is in 2084.
	topoOutbidWindow = 1_000_000 * time.Hour
	topoStopTimeout  = 30 * time.Second // SIGTERM to exit
)

// TestTopologyAcrossProcesses runs the platform the way compose does, as
// separate processes of the one binary: a gateway, two processors, the
// closer, notify and analytics, all on one Kafka (the real cluster of
// KAFKA_BROKERS, or an embedded broker in this test process), DynamoDB
// (dynalite) and an SMTP server. Three auctions run over HTTP; one processor
// is stopped gracefully halfway through the bidding and the other takes its
// partitions over. Winners and prices must equal the highest accepted bid of
// each item, everyone involved gets exactly one notification per item (inbox
// and email), analytics count the three auctions once, and every process
// stops cleanly on SIGTERM.
//
// On a shared cluster the catalog topics hold records of other tests, so the
// test looks only at its own items, users and category (unique per run).
func TestTopologyAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs six processes through 10 s auctions")
	}
	began := time.Now()
	endpoint := dynamotest.Endpoint(t) // first: it skips without dynalite (outside CI)
	brokers := kafkatest.Cluster(t)
	mail := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	built := time.Now()
	bin := buildAuction(t)
	t.Logf("binary built in %s", time.Since(built).Round(time.Millisecond))

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	nonce := strings.ToLower(rand.Text()[:10])
	httpAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	common := map[string]string{
		"AUCTION_KAFKA_BROKERS":       strings.Join(brokers, ","),
		"AUCTION_PARTITIONS":          "3",
		"AUCTION_REPLICATION":         "1",
		"AUCTION_STORE":               "dynamodb",
		"AUCTION_DYNAMODB_ENDPOINT":   endpoint,
		"AUCTION_DYNAMODB_REGION":     "us-east-1",
		"AUCTION_USERS_TABLE":         dynamotest.Table(t),
		"AUCTION_NOTIFICATIONS_TABLE": dynamotest.Table(t),
		"AUCTION_ANALYTICS_TABLE":     dynamotest.Table(t),
		"AUCTION_JWT_KEY":             hex.EncodeToString(key),
		"AUCTION_CLOSE_GRACE":         "500ms",
		"AUCTION_SMTP_ADDR":           mail.Addr,
		"AUCTION_OUTBID_WINDOW":       topoOutbidWindow.String(),
		"AUCTION_LOG_FORMAT":          "json",
		"AUCTION_HTTP_ADDR":           httpAddr,
	}
	// As compose does: `auction init` creates the topics and tables, then
	// every component starts.
	initStart := time.Now()
	initialiseTopology(t, bin, common)
	t.Logf("auction init took %s", time.Since(initStart).Round(time.Millisecond))
	procs := &topoProcs{}
	procs.guard(t)
	gateway := procs.start(t, bin, "gateway", common, map[string]string{"AUCTION_TARGET": "gateway", "AUCTION_DEMO_USERS": "true"})
	// At debug level goka logs the partitions each processor claims, which
	// pickProcessor reads.
	processors := []*topoProc{
		procs.start(t, bin, "processor-1", common, map[string]string{"AUCTION_TARGET": "processor", "AUCTION_LOG_LEVEL": "debug", "AUCTION_STATE_DIR": t.TempDir()}),
		procs.start(t, bin, "processor-2", common, map[string]string{"AUCTION_TARGET": "processor", "AUCTION_LOG_LEVEL": "debug", "AUCTION_STATE_DIR": t.TempDir()}),
	}
	for _, target := range []string{"closer", "notify", "analytics", "lineage"} {
		procs.start(t, bin, target, common, map[string]string{"AUCTION_TARGET": target})
	}

	// Ready: the gateway's API answers /readyz, and so does every process's
	// admin server (compose's healthcheck): each component has joined its
	// group and caught up. Both processors ready means the group has
	// settled; one joining later would rebalance mid-test.
	p := &testPlatform{base: "http://" + httpAddr, brokers: brokers, stdout: gateway.stdout}
	started := time.Now()
	urls := []string{p.base + "/readyz"}
	for _, pr := range procs.procs {
		urls = append(urls, pr.admin+"/readyz")
	}
	procs.poll(t, topoStartTimeout, "every /readyz 200", func() (bool, string) {
		for _, u := range urls {
			if code, err := topoStatus(u); err != nil || code != http.StatusOK {
				return false, fmt.Sprintf("%s: %d %v", u, code, err)
			}
		}
		return true, ""
	})
	t.Logf("six processes ready %s after start", time.Since(started).Round(time.Millisecond))

	// People: a seller and two bidders registered over HTTP, plus the demo
	// bidder Bob, whose token the gateway printed.
	seller := register(t, p, "Sam Seller", "seller-"+nonce+"@example.com")
	b1 := register(t, p, "Ada Bidder", "ada-"+nonce+"@example.com")
	b2 := register(t, p, "Ben Bidder", "ben-"+nonce+"@example.com")
	bob := p.token(t, "bob@example.com")
	people := map[string]topoUser{} // by user id
	ids := map[string]string{}      // user id by name
	for _, u := range []topoUser{
		{"seller", seller, "seller-" + nonce + "@example.com"},
		{"ada", b1, "ada-" + nonce + "@example.com"},
		{"ben", b2, "ben-" + nonce + "@example.com"},
		{"bob", bob, "bob@example.com"},
	} {
		id := userID(t, p, u.token)
		people[id], ids[u.name] = u, id
	}
	sellerID := ids["seller"]

	// Three items in a category of this run; the third has a reserve out of
	// reach, so it closes unsold however it is bid on.
	category := "topo-" + nonce
	items := make([]string, 3)
	titles := map[string]string{}
	for i := range items {
		title := fmt.Sprintf("Topology lot %d %s", i, nonce)
		reserve := ""
		if i == 2 {
			reserve = `,"reservePrice":100000000`
		}
		items[i] = placeItem(t, p, seller, fmt.Sprintf(
			`{"title":%q,"category":%q,"currency":"EUR","startingPrice":1000%s,"durationSeconds":10}`, title, category, reserve))
		titles[items[i]] = title
	}
	placed := time.Now()
	t.Logf("items placed: %v", items)

	// The bids. The minimum increment of a 1000 starting price is 10, so
	// the bids planned as refused are too small a raise over the highest.
	type plannedBid struct {
		item   int
		who    string
		amount int64
		accept bool
	}
	type verdict struct {
		item, bidder string
		amount       int64
		accepted     bool
	}
	var verdicts []verdict
	// decided records the verdict on a bid, reading it by id while it is
	// pending (GET /v1/bids/{id}).
	decided := func(b plannedBid, status int, body string) {
		t.Helper()
		item := items[b.item]
		accepted := status == http.StatusOK
		if status == http.StatusAccepted {
			var pending struct{ BidID string }
			if err := json.Unmarshal([]byte(body), &pending); err != nil || pending.BidID == "" {
				t.Fatalf("%s bids %d on %s: got 202 %s, want a bid id", b.who, b.amount, item, body)
			}
			var st struct{ Status string }
			procs.poll(t, topoVerdictTimeout, "verdict on bid "+pending.BidID, func() (bool, string) {
				code := get(t, p.base+"/v1/bids/"+pending.BidID, &st)
				return code == http.StatusOK && st.Status != "pending", fmt.Sprintf("%d %s", code, st.Status)
			})
			accepted = st.Status == "accepted"
		}
		if accepted != b.accept {
			t.Fatalf("%s bids %d on %s: got accepted=%v (answer %d %s), want accepted=%v", b.who, b.amount, item, accepted, status, body, b.accept)
		}
		verdicts = append(verdicts, verdict{item: item, bidder: ids[b.who], amount: b.amount, accepted: accepted})
	}
	amount := func(b plannedBid) string { return strconv.FormatInt(b.amount, 10) }

	// While both processors run, each bid waits for its verdict: 200
	// accepted or 409 refused.
	for _, b := range []plannedBid{
		{0, "ada", 1000, true}, {0, "ben", 1100, true},
		{1, "ada", 1000, true}, {1, "bob", 1005, false},
		{2, "ben", 1000, true}, {2, "bob", 1200, true},
	} {
		status, body := bid(t, p, people[ids[b.who]].token, items[b.item], amount(b), "wait=5")
		if status != http.StatusOK && status != http.StatusConflict {
			t.Fatalf("%s bids %d on %s: got %d %s, want 200 or 409", b.who, b.amount, items[b.item], status, body)
		}
		decided(b, status, body)
	}

	// The processor that owns most of the items stops gracefully; the other
	// takes its partitions over, recovering their auctions from the table
	// topic. That takes a rebalance (up to a heartbeat, 3 s, then goka waits
	// 5 s before it rejoins), longer than Prefer: wait, so bidding goes on
	// without it: each bid is answered 202 once it is in the log, in order,
	// and its verdict read back later. The first bid on each item after the
	// stop is refused only if the recovered auction knows the highest bid.
	stopped, survivor, moved := pickProcessor(t, processors, items)
	stopping := time.Now()
	stopped.stop(t, topoStopTimeout)
	t.Logf("%s (owner of items %v) stopped in %s, %s after the items were placed; %s takes over",
		stopped.name, moved, time.Since(stopping).Round(time.Millisecond), stopping.Sub(placed).Round(time.Millisecond), survivor.name)
	resumed := time.Now()
	after := []plannedBid{
		{0, "ada", 1105, false}, {0, "ada", 1200, true}, {0, "ben", 1300, true},
		{1, "bob", 1005, false}, {1, "bob", 1100, true}, {1, "ada", 1150, true},
		{2, "ben", 1205, false}, {2, "ben", 1500, true}, {2, "bob", 1600, true},
	}
	answers := make([]string, len(after))
	for i, b := range after {
		status, body := bid(t, p, people[ids[b.who]].token, items[b.item], amount(b), "")
		if status != http.StatusAccepted {
			t.Fatalf("%s bids %d on %s after the stop: got %d %s, want 202", b.who, b.amount, items[b.item], status, body)
		}
		answers[i] = body
	}
	t.Logf("%d bids in the log %s after the stop", len(after), time.Since(resumed).Round(time.Millisecond))
	for i, b := range after {
		decided(b, http.StatusAccepted, answers[i])
	}
	t.Logf("all decided %s after the stop", time.Since(resumed).Round(time.Millisecond))

	// Reference model: per item, the highest accepted bid wins, unless the
	// reserve is out of reach; everyone with an accepted bid took part.
	type outcome struct {
		sold         bool
		winner       string
		price        int64
		participants []string
	}
	want := map[string]*outcome{}
	for _, id := range items {
		want[id] = &outcome{}
	}
	for _, v := range verdicts {
		o := want[v.item]
		if !v.accepted {
			continue
		}
		if !slices.Contains(o.participants, v.bidder) {
			o.participants = append(o.participants, v.bidder)
		}
		if v.amount > o.price {
			o.winner, o.price = v.bidder, v.amount
		}
	}
	for i, id := range items {
		want[id].sold = want[id].winner != "" && i != 2
	}

	// Every auction closes at endsAt + grace, through the closer and the
	// remaining processor.
	type result struct {
		Sold     bool
		WinnerID string
		Price    *int64
	}
	var item struct {
		Status string
		Result *result
	}
	for _, id := range items {
		procs.poll(t, topoCloseTimeout+time.Until(placed.Add(10*time.Second)), "item "+id+" closed", func() (bool, string) {
			code := get(t, p.base+"/v1/items/"+id, &item)
			return code == http.StatusOK && item.Status == "closed", fmt.Sprintf("%d %s", code, item.Status)
		})
		w, r := want[id], item.Result
		switch {
		case r == nil:
			t.Fatalf("item %s closed without a result", id)
		case r.Sold != w.sold:
			t.Fatalf("item %s: got sold=%v, want %v", id, r.Sold, w.sold)
		case w.sold && (r.WinnerID != w.winner || r.Price == nil || *r.Price != w.price):
			t.Fatalf("item %s: got winner %s at %v, want %s at %d", id, r.WinnerID, r.Price, w.winner, w.price)
		}
	}
	closed := time.Now()
	t.Logf("all closed %s after the items were placed", closed.Sub(placed).Round(time.Millisecond))

	// Notifications: for each item, one to every participant (won or lost)
	// and one to the seller (sold or unsold), in the inbox and by email.
	// Other tests' items are ignored (Bob is a demo user anyone may use).
	type note struct{ item, user, kind string }
	var notes []note
	for _, id := range items {
		w := want[id]
		for _, u := range w.participants {
			kind := string(schemas.NotifyLost)
			if w.sold && u == w.winner {
				kind = string(schemas.NotifyWon)
			}
			notes = append(notes, note{id, u, kind})
		}
		kind := string(schemas.NotifyUnsold)
		if w.sold {
			kind = string(schemas.NotifySold)
		}
		notes = append(notes, note{id, sellerID, kind})
	}
	// And one outbid notice to each bidder another overtook on an item: the
	// whole run is in one window.
	highest, told := map[string]string{}, map[note]bool{}
	for _, v := range verdicts {
		if !v.accepted {
			continue
		}
		if h := highest[v.item]; h != "" && h != v.bidder && !told[note{v.item, h, "outbid"}] {
			told[note{v.item, h, "outbid"}] = true
			notes = append(notes, note{v.item, h, string(schemas.NotifyOutbid)})
		}
		highest[v.item] = v.bidder
	}
	noteID := func(n note) string {
		if n.kind == string(schemas.NotifyOutbid) {
			return notify.OutbidID(n.item, n.user, time.Now(), topoOutbidWindow)
		}
		return notify.ID(n.item, n.user, schemas.NotificationKind(n.kind))
	}
	for uid, u := range people {
		var mine []string
		for _, n := range notes {
			if n.user == uid {
				mine = append(mine, n.item+" "+n.kind)
			}
		}
		sort.Strings(mine)
		var got []string
		procs.poll(t, topoOutOfBand, u.name+"'s inbox", func() (bool, string) {
			got = got[:0]
			for _, n := range inbox(t, p, u.token) {
				if _, ours := titles[n.ItemID]; ours {
					got = append(got, n.ItemID+" "+n.Kind)
					if !strings.Contains(n.Message, titles[n.ItemID]) {
						t.Fatalf("%s's notification %+v does not name the item's title %q", u.name, n, titles[n.ItemID])
					}
				}
			}
			sort.Strings(got)
			// Fewer may still be on their way; more never become right.
			if len(got) > len(mine) {
				t.Fatalf("%s's inbox: got %v, want exactly %v", u.name, got, mine)
			}
			return slices.Equal(got, mine), fmt.Sprintf("got %v, want %v", got, mine)
		})
	}

	// Emails: one per notification, to the user's address, identified by
	// the notification's Message-ID.
	wantMail := map[string]string{} // Message-ID → recipient
	for _, n := range notes {
		wantMail[notify.MessageID(noteID(n))] = people[n.user].email
	}
	var counts map[string]int
	procs.poll(t, topoOutOfBand, "an email for each notification", func() (bool, string) {
		counts = map[string]int{}
		for _, m := range mail.Mails() {
			id := m.Header.Get("Message-ID")
			to, ours := wantMail[id]
			if !ours {
				for item, title := range titles {
					if strings.Contains(m.Subject, title) {
						t.Fatalf("unexpected email about %s: %s to %v", item, id, m.To)
					}
				}
				continue
			}
			if len(m.To) != 1 || m.To[0] != to {
				t.Fatalf("email %s: got recipients %v, want %s", id, m.To, to)
			}
			counts[id]++
		}
		return len(counts) == len(wantMail), fmt.Sprintf("%d of %d arrived", len(counts), len(wantMail))
	})
	for id, n := range counts {
		if n != 1 {
			t.Fatalf("email %s: got %d copies, want 1", id, n)
		}
	}

	// Analytics count the three auctions of this run's category once.
	var wantSold, wantVolume, wantMax int64
	bidders := map[string]bool{}
	for _, w := range want {
		if w.sold {
			wantSold++
			wantVolume += w.price
			wantMax = max(wantMax, w.price)
		}
		for _, u := range w.participants {
			bidders[u] = true
		}
	}
	var s struct {
		Completed, Sold, Unsold, UniqueBidders int64
		ByCurrency                             map[string]struct{ Sold, Volume, Max int64 }
	}
	// An auction is counted in steps (its count, then its bucket's highest
	// price), so the last one's may still be on its way once the count says 3.
	procs.poll(t, topoOutOfBand, "analytics of "+category, func() (bool, string) {
		code := get(t, p.base+"/v1/analytics/categories/"+category, &s)
		return code == http.StatusOK && (s.Completed > 3 || s.Completed == 3 && s.ByCurrency["EUR"].Max >= wantMax), fmt.Sprintf("%d %+v", code, s)
	})
	eur := s.ByCurrency["EUR"]
	if s.Completed != 3 || s.Sold != wantSold || s.Unsold != 3-wantSold || s.UniqueBidders != int64(len(bidders)) ||
		eur.Sold != wantSold || eur.Volume != wantVolume || eur.Max != wantMax {
		t.Fatalf("analytics of %s: got %+v, want 3 completed, %d sold for %d EUR (max %d), %d unique bidders",
			category, s, wantSold, wantVolume, wantMax, len(bidders))
	}
	t.Logf("notifications, %d emails and analytics complete %s after the closes", len(wantMail), time.Since(closed).Round(time.Millisecond))

	// The lineage process indexed each auction to its last step (written by
	// one process to DynamoDB, read by the gateway).
	for _, item := range items {
		var chain struct{ Events []lineage.Entry }
		procs.poll(t, topoOutOfBand, "lineage of "+item, func() (bool, string) {
			code := get(t, p.base+"/v1/items/"+item+"/lineage", &chain)
			n := countTypes(chain.Events)
			return code == http.StatusOK && n[schemas.TypeItemCompleted] == 1 && n[schemas.TypeAnalyticsCounted] == 1 &&
				n[schemas.TypeNotificationSent] >= 1, fmt.Sprintf("%d %v", code, n)
		})
	}

	// Every process stops cleanly on SIGTERM.
	stopping = time.Now()
	procs.stopAll(t, topoStopTimeout)
	t.Logf("all stopped in %s; whole test %s", time.Since(stopping).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

type topoUser struct{ name, token, email string }

// pickProcessor returns the processor that owns the partitions of most of
// items (by goka's "setup generation" debug line and goka's own hashing),
// the other one, and the items that will move. If the claims cannot be
// read, it picks the first processor.
func pickProcessor(t *testing.T, processors []*topoProc, items []string) (stop, keep *topoProc, moved []string) {
	t.Helper()
	claims := regexp.MustCompile(`\\"` + regexp.QuoteMeta(schemas.TopicItems) + `\\":\[\]int32\{([0-9, ]*)\}`)
	hash := sarama.NewHashPartitioner(schemas.TopicItems)
	var best []string
	pick := 0
	for i, pr := range processors {
		all := claims.FindAllStringSubmatch(pr.stderr.String(), -1)
		if len(all) == 0 {
			t.Logf("%s logged no partition claims; stopping %s", pr.name, processors[0].name)
			return processors[0], processors[1], nil
		}
		owned := map[int32]bool{}
		for _, f := range strings.Split(all[len(all)-1][1], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				t.Fatalf("%s's claims %q: %v", pr.name, all[len(all)-1][0], err)
			}
			owned[int32(n)] = true
		}
		var mine []string
		for _, id := range items {
			part, err := hash.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(id)}, 3)
			if err != nil {
				t.Fatal(err)
			}
			if owned[part] {
				mine = append(mine, id)
			}
		}
		if len(mine) > len(best) {
			pick, best = i, mine
		}
	}
	return processors[pick], processors[1-pick], best
}

// buildAuction builds the binary once for the test, from the repository
// root. A test built with -race builds it with -race too: the packages are
// then the ones the test binary was compiled from, already in the build
// cache, and a data race in any process fails its exit status.
func buildAuction(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "auction")
	args := []string{"build", "-o", bin}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	cmd := exec.Command("go", append(args, "./cmd/auction")...)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/auction: %v\n%s", err, out)
	}
	return bin
}

// initialiseTopology runs `auction init` with env and requires it to succeed.
func initialiseTopology(t *testing.T, bin string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), topoStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "init")
	cmd.Env = topoEnv(env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("auction init: got %v, want success\n%s", err, out)
	}
}

// topoEnv is the test's environment without its AUCTION_* variables, with
// vars instead.
func topoEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUCTION_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// topoStatus is the status code of GET url, or the error of a server that
// does not answer yet.
func topoStatus(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// topoProc is one `auction run` process.
type topoProc struct {
	name   string
	admin  string // http://host:port of its admin server (/healthz, /readyz)
	cmd    *exec.Cmd
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	done   chan struct{} // closed once the process has exited
	err    error         // what Wait returned; read after done
	// stopped: the test sent SIGTERM, so an exit is no surprise.
	stopped bool
}

func (p *topoProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and requires exit status 0 (a graceful shutdown)
// within timeout.
func (p *topoProc) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	p.stopped = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to %s: %v", p.name, err)
	}
	p.awaitExit(t, timeout)
}

func (p *topoProc) awaitExit(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s (pid %d) did not exit within %s of SIGTERM", p.name, p.cmd.Process.Pid, timeout)
	}
	if p.err != nil {
		t.Fatalf("%s after SIGTERM: got %v, want exit status 0", p.name, p.err)
	}
}

// topoProcs are the processes of one test. Each is killed when the test
// ends if it is still running, and their output is shown if it failed.
type topoProcs struct {
	mu    sync.Mutex
	procs []*topoProc
}

// guard kills every process shortly before the test binary's deadline: a
// timed-out test binary panics without running cleanups, which would leave
// the processes running.
func (ps *topoProcs) guard(t *testing.T) {
	deadline, ok := t.Deadline()
	if !ok {
		return
	}
	if d := time.Until(deadline) - 10*time.Second; d > 0 {
		timer := time.AfterFunc(d, ps.killAll)
		t.Cleanup(func() { timer.Stop() })
	}
}

func (ps *topoProcs) killAll() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.procs {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
		}
	}
}

// start runs `auction run` as name, with env over common and an admin
// server on a free port; other AUCTION_* variables of the test's
// environment are left out.
func (ps *topoProcs) start(t *testing.T, bin, name string, common, env map[string]string) *topoProc {
	t.Helper()
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
	vars := map[string]string{"AUCTION_ADMIN_ADDR": admin}
	for k, v := range common {
		vars[k] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(bin, "run")
	cmd.Env = topoEnv(vars)
	p := &topoProc{name: name, admin: "http://" + admin, cmd: cmd, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.procs = append(ps.procs, p)
	ps.mu.Unlock()
	t.Cleanup(func() {
		state := "still running"
		if !p.exited() {
			_ = cmd.Process.Kill()
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s (pid %d) still running 10 s after SIGKILL", name, cmd.Process.Pid)
			}
		}
		if p.exited() {
			state = fmt.Sprintf("Wait: %v", p.err)
		}
		if t.Failed() {
			t.Logf("---- %s (pid %d, %s): stdout\n%s\n---- %s: stderr (last 64 KiB)\n%s",
				name, cmd.Process.Pid, state, tail(p.stdout.String(), 4<<10), name, tail(p.stderr.String(), 64<<10))
		}
	})
	return p
}

// stopAll sends SIGTERM to every running process at once and requires each
// to exit with status 0 within timeout.
func (ps *topoProcs) stopAll(t *testing.T, timeout time.Duration) {
	t.Helper()
	ps.mu.Lock()
	procs := slices.Clone(ps.procs)
	ps.mu.Unlock()
	var running []*topoProc
	for _, p := range procs {
		if p.exited() {
			continue
		}
		p.stopped = true
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM to %s: %v", p.name, err)
		}
		running = append(running, p)
	}
	deadline := time.Now().Add(timeout)
	for _, p := range running {
		p.awaitExit(t, time.Until(deadline))
	}
}

// poll calls check until it reports true, failing the test with check's
// last word if timeout passes first, or at once if a process has exited.
func (ps *topoProcs) poll(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := check()
		if ok {
			return
		}
		ps.mu.Lock()
		for _, p := range ps.procs {
			if p.exited() && !p.stopped {
				ps.mu.Unlock()
				t.Fatalf("waiting for %s: %s exited early: %v", what, p.name, p.err)
			}
		}
		ps.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, timeout.Round(time.Millisecond), last)
		}
		<-time.After(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

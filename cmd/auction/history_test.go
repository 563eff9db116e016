package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/internal/kafkaio"
	"github.com/auctionflow/auction/internal/kafkaio/kafkatest"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/schemas/cekafka"
	"github.com/auctionflow/auction/streams/auction"
)

// history is what the fault suite's checker read back: every record of the
// flow's topics, from the beginning, and the replay of the auction rules
// over them in log order.
type history struct {
	w      *workload
	items  map[string]schemas.ItemPlaced
	placed map[string]time.Time // bid id → placedAt, of every bid in the log
	// verdicts: bid id → the distinct verdicts the log holds (want one) and
	// how many records carried them.
	verdicts map[string][]string
	records  map[string]int
	latency  map[string]time.Duration // bid id → decidedAt − placedAt
	// completions: item id → distinct completions, and records.
	completions map[string][]string
	completeRec map[string]int
	// outbids: the id of every outbid notice the accepted verdicts of the
	// log call for (one per bidder, item and window) → item and user.
	outbids map[string][2]string
	// moved counts the auctions whose soft close the replay moved.
	moved int
	// replay: what the rules give in log order.
	want     map[string]string // bid id → verdict
	wantDone map[string]schemas.ItemCompleted
	wantRows map[string]auction.State // item id → its row after the last record
	// mailCopies counts emails beyond the first with one Message-ID.
	mailCopies int
	problems   []string
}

// verdictOf is a verdict as the checker compares it; outbid is the bid an
// accepted one overtook from another bidder.
func verdictOf(accepted bool, reason schemas.RejectReason, count int, outbid *schemas.Outbid) string {
	if accepted {
		if outbid != nil {
			return fmt.Sprintf("accepted #%d over %s", count, outbid.BidID)
		}
		return fmt.Sprintf("accepted #%d", count)
	}
	return string(reason)
}

func completionOf(c schemas.ItemCompleted) string {
	price := "-"
	if c.Price != nil {
		price = c.Price.String()
	}
	return fmt.Sprintf("sold=%v winner=%s price=%s bids=%d bidders=%v", c.Sold, c.WinnerID, price, c.BidCount, c.Bidders)
}

// readHistory waits until every item in the log has completed and the
// out-of-band functions have caught up, then reads and checks the history.
func readHistory(t *testing.T, brokers []string, w *workload, settle time.Duration, mail *notifytest.MailServer) *history {
	t.Helper()
	deadline := time.Now().Add(settle)
	var h *history
	for {
		h = loadHistory(t, brokers, w)
		open := 0
		for id := range h.items {
			if h.completeRec[id] == 0 {
				open++
			}
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			h.problems = append(h.problems, fmt.Sprintf("%d of %d auctions never completed", open, len(h.items)))
			break
		}
		<-time.After(500 * time.Millisecond)
	}
	h.replay(t, brokers)
	h.checkBids()
	h.checkTables(t, brokers)
	h.checkOutOfBand(t, deadline, mail)
	return h
}

// loadHistory reads items, verdicts and completions.
func loadHistory(t *testing.T, brokers []string, w *workload) *history {
	t.Helper()
	h := &history{w: w, items: map[string]schemas.ItemPlaced{}, placed: map[string]time.Time{},
		verdicts: map[string][]string{}, records: map[string]int{}, latency: map[string]time.Duration{},
		completions: map[string][]string{}, completeRec: map[string]int{}, outbids: map[string][2]string{}}
	for _, e := range readEvents(t, brokers, schemas.TopicItems) {
		if it, err := schemas.Data[schemas.ItemPlaced](e.event, e.event.Type()); err == nil && it.Category == w.category {
			if _, dup := h.items[it.ItemID]; !dup {
				h.items[it.ItemID] = it
			}
		}
	}
	for _, e := range readEvents(t, brokers, schemas.TopicBidResults) {
		var bidID, v string
		switch e.event.Type() {
		case schemas.TypeBidAccepted:
			d, _ := schemas.Data[schemas.BidAccepted](e.event, e.event.Type())
			bidID, v = d.BidID, verdictOf(true, "", d.BidCount, d.Outbid)
			h.latency[bidID] = d.DecidedAt.Sub(d.PlacedAt)
			if ob := d.Outbid; ob != nil && ob.BidderID != d.BidderID {
				if _, ours := h.items[d.ItemID]; ours {
					id := notify.OutbidID(d.ItemID, ob.BidderID, d.DecidedAt, notify.DefaultOutbidWindow)
					h.outbids[id] = [2]string{d.ItemID, ob.BidderID}
				}
			}
		case schemas.TypeBidRejected:
			d, _ := schemas.Data[schemas.BidRejected](e.event, e.event.Type())
			bidID, v = d.BidID, verdictOf(false, d.Reason, 0, nil)
			h.latency[bidID] = d.DecidedAt.Sub(d.PlacedAt)
		}
		h.records[bidID]++
		if !slices.Contains(h.verdicts[bidID], v) {
			h.verdicts[bidID] = append(h.verdicts[bidID], v)
		}
	}
	for _, e := range readEvents(t, brokers, schemas.TopicItemComplete) {
		d, err := schemas.Data[schemas.ItemCompleted](e.event, e.event.Type())
		if err != nil {
			continue
		}
		h.completeRec[d.ItemID]++
		if c := completionOf(d); !slices.Contains(h.completions[d.ItemID], c) {
			h.completions[d.ItemID] = append(h.completions[d.ItemID], c)
		}
	}
	return h
}

// replay decides every item's bids and close-dues with the pure rules, in
// the order of the item's partition of auction.bids.
func (h *history) replay(t *testing.T, brokers []string) {
	h.want, h.wantDone = map[string]string{}, map[string]schemas.ItemCompleted{}
	states := map[string]auction.State{}
	h.wantRows = states
	for id, it := range h.items {
		s, _ := auction.Decide(auction.State{}, auction.Input{Item: &it}, it.PlacedAt)
		states[id] = s
	}
	for _, e := range readEvents(t, brokers, schemas.TopicBids) {
		id := string(e.key)
		s, ours := states[id]
		if !ours {
			continue
		}
		in := auction.Input{EventID: e.event.ID(), Offset: e.offset}
		now := s.Item.EndsAt
		switch e.event.Type() {
		case schemas.TypeBidPlaced:
			b, err := schemas.Data[schemas.BidPlaced](e.event, e.event.Type())
			if err != nil {
				h.problems = append(h.problems, fmt.Sprintf("undecodable bid %s: %v", e.event.ID(), err))
				continue
			}
			in.Bid = &b
			h.placed[b.BidID] = b.PlacedAt
		case schemas.TypeCloseDue:
			c, err := schemas.Data[schemas.CloseDue](e.event, e.event.Type())
			if err != nil {
				continue
			}
			in.Close, now = &c, c.CloseAt
		}
		next, outs := auction.Decide(s, in, now)
		states[id] = next
		for _, o := range outs {
			switch d := o.Data.(type) {
			case schemas.BidAccepted:
				h.want[d.BidID] = verdictOf(true, "", d.BidCount, d.Outbid)
			case schemas.BidRejected:
				h.want[d.BidID] = verdictOf(false, d.Reason, 0, nil)
			case schemas.ItemCompleted:
				h.wantDone[d.ItemID] = d
			}
		}
	}
}

// checkBids compares the log's verdicts and completions with the replay.
func (h *history) checkBids() {
	for id, b := range h.w.acked {
		if _, inLog := h.placed[id]; !inLog {
			h.problems = append(h.problems, fmt.Sprintf("lost: bid %s (%d on %s) was acknowledged but is not in auction.bids", id, b.amount, b.itemID))
			continue
		}
		if b.verdict != "" && len(h.verdicts[id]) == 1 && !strings.HasPrefix(h.verdicts[id][0], b.verdict) {
			h.problems = append(h.problems, fmt.Sprintf("bid %s: the client was told %s, the log says %s", id, b.verdict, h.verdicts[id][0]))
		}
	}
	for id := range h.placed {
		switch got := h.verdicts[id]; {
		case len(got) == 0:
			h.problems = append(h.problems, fmt.Sprintf("lost: bid %s is in auction.bids but has no verdict", id))
		case len(got) > 1:
			h.problems = append(h.problems, fmt.Sprintf("conflicting: bid %s has verdicts %v", id, got))
		case got[0] != h.want[id]:
			h.problems = append(h.problems, fmt.Sprintf("mismatch: bid %s got %s, the replay in log order gives %s", id, got[0], h.want[id]))
		}
	}
	for id := range h.items {
		want, ok := h.wantDone[id]
		switch got := h.completions[id]; {
		case !ok:
			h.problems = append(h.problems, fmt.Sprintf("item %s: the replay never closes it", id))
		case len(got) != 1:
			h.problems = append(h.problems, fmt.Sprintf("item %s: got completions %v, want exactly %s", id, got, completionOf(want)))
		case got[0] != completionOf(want):
			h.problems = append(h.problems, fmt.Sprintf("mismatch: item %s completed %s, the replay gives %s", id, got[0], completionOf(want)))
		}
	}
}

// checkTables compares what the processor keeps with the replay: the last
// row of each auction in goka's table topic (what a restarted or new
// processor recovers) and the last auction.bid-status record of each bid
// (what the gateway answers and a redelivered bid is decided from).
func (h *history) checkTables(t *testing.T, brokers []string) {
	t.Helper()
	rows := map[string][]byte{}
	for _, r := range readRecords(t, brokers, schemas.TopicAuctionTable) {
		if _, ours := h.items[string(r.key)]; ours {
			rows[string(r.key)] = r.value // a nil value is a tombstone
		}
	}
	for id, want := range h.wantRows {
		row, err := auction.DecodeRow(rows[id]) // no row, or a tombstone, fails too
		if err != nil {
			h.problems = append(h.problems, fmt.Sprintf("lost: item %s has no readable row in %s (%v)", id, schemas.TopicAuctionTable, err))
			continue
		}
		got := *row
		switch {
		case got.Status != want.Status || got.BidCount != want.BidCount || !slices.Equal(got.Bidders, want.Bidders):
			h.problems = append(h.problems, fmt.Sprintf("mismatch: item %s's table row is %s with %d bids by %v, the replay gives %s with %d by %v",
				id, got.Status, got.BidCount, got.Bidders, want.Status, want.BidCount, want.Bidders))
		case (got.Result == nil) != (want.Result == nil) || got.Result != nil && completionOf(*got.Result) != completionOf(*want.Result):
			h.problems = append(h.problems, fmt.Sprintf("mismatch: item %s's table row has result %v, the replay %v", id, got.Result, want.Result))
		case !got.End().Equal(want.End()):
			h.problems = append(h.problems, fmt.Sprintf("mismatch: item %s's table row ends at %s, the replay at %s", id, got.End(), want.End()))
		}
		if !want.End().Equal(want.Item.EndsAt) {
			h.moved++
		}
	}
	status := map[string]schemas.BidStatus{}
	for _, r := range readRecords(t, brokers, schemas.TopicBidStatus) {
		if _, ours := h.placed[string(r.key)]; !ours {
			continue
		}
		var s schemas.BidStatus
		if err := json.Unmarshal(r.value, &s); err != nil {
			h.problems = append(h.problems, fmt.Sprintf("undecodable bid status of %s: %v", r.key, err))
			continue
		}
		status[string(r.key)] = s
	}
	for id := range h.placed {
		s, ok := status[id]
		if !ok {
			h.problems = append(h.problems, fmt.Sprintf("lost: bid %s has no record in %s", id, schemas.TopicBidStatus))
			continue
		}
		got := verdictOf(s.Status == schemas.StatusAccepted, s.Reason, s.BidCount, s.Outbid)
		if got != h.want[id] {
			h.problems = append(h.problems, fmt.Sprintf("mismatch: bid %s's status says %s, the replay gives %s", id, got, h.want[id]))
		}
	}
}

// checkOutOfBand checks the inboxes, the emails and the analytics against
// the replay's completions, polling until deadline for what is on its way.
func (h *history) checkOutOfBand(t *testing.T, deadline time.Time, mail *notifytest.MailServer) {
	t.Helper()
	type note struct{ item, user, kind string }
	want := map[string][]string{} // user → sorted notification ids
	var notes []note
	sold, volume := int64(0), int64(0)
	for id, d := range h.wantDone {
		for _, u := range d.Bidders {
			kind := schemas.NotifyLost
			if d.Sold && u == d.WinnerID {
				kind = schemas.NotifyWon
			}
			notes = append(notes, note{id, u, string(kind)})
		}
		kind := schemas.NotifyUnsold
		if d.Sold {
			kind = schemas.NotifySold
			sold++
			volume += d.Price.Amount
		}
		notes = append(notes, note{id, d.SellerID, string(kind)})
	}
	// Each notice by its id: once per item and kind, outbid notices once
	// per item and window.
	var ids []string
	for _, n := range notes {
		ids = append(ids, notify.ID(n.item, n.user, schemas.NotificationKind(n.kind)))
		want[n.user] = append(want[n.user], ids[len(ids)-1])
	}
	for id, n := range h.outbids {
		ids = append(ids, id)
		want[n[1]] = append(want[n[1]], id)
	}
	users := append([]*faultUser{h.w.seller}, h.w.bidders...)
	for _, u := range users {
		mine := want[u.id]
		sort.Strings(mine)
		var got []string
		for {
			got = got[:0]
			for _, n := range faultInbox(t, h.w.inbox, u.id) {
				if _, ours := h.items[n.ItemID]; ours {
					got = append(got, n.ID)
				}
			}
			sort.Strings(got)
			if len(got) >= len(mine) || time.Now().After(deadline) {
				break
			}
			<-time.After(500 * time.Millisecond)
		}
		if !slices.Equal(got, mine) {
			h.problems = append(h.problems, fmt.Sprintf("inbox of %s: got %d notifications, want %d (once per item and kind, or item and window): %s",
				u.id, len(got), len(mine), diff(got, mine)))
		}
	}
	// Emails: one per notification, by Message-ID; a copy with the same
	// Message-ID (a crash between the send and its record) is counted.
	wantMail := map[string]bool{}
	for _, id := range ids {
		wantMail[notify.MessageID(id)] = true
	}
	for {
		counts := map[string]int{}
		for _, m := range mail.Mails() {
			if id := m.Header.Get("Message-ID"); wantMail[id] {
				counts[id]++
			}
		}
		if len(counts) == len(wantMail) || time.Now().After(deadline) {
			h.mailCopies = 0
			for _, n := range counts {
				h.mailCopies += n - 1
			}
			if len(counts) != len(wantMail) {
				h.problems = append(h.problems, fmt.Sprintf("emails: %d of %d arrived", len(counts), len(wantMail)))
			}
			break
		}
		<-time.After(500 * time.Millisecond)
	}
	var s struct {
		Completed, Sold int64
		ByCurrency      map[string]struct{ Sold, Volume int64 }
	}
	for {
		code := get(t, h.w.base+"/v1/analytics/categories/"+h.w.category, &s)
		if code == http.StatusOK && s.Completed >= int64(len(h.wantDone)) || time.Now().After(deadline) {
			break
		}
		<-time.After(500 * time.Millisecond)
	}
	if s.Completed != int64(len(h.wantDone)) || s.Sold != sold || s.ByCurrency["EUR"].Volume != volume {
		h.problems = append(h.problems, fmt.Sprintf("analytics: got %d completed, %d sold for %d EUR; want %d, %d, %d",
			s.Completed, s.Sold, s.ByCurrency["EUR"].Volume, len(h.wantDone), sold, volume))
	}
}

// faultInbox is every notification of user in the inbox table, which the
// API shows only the newest page of.
func faultInbox(t *testing.T, inbox *notify.Dynamo, user string) []notify.Notification {
	t.Helper()
	ns, err := inbox.ForUser(t.Context(), user, 1_000_000)
	if err != nil {
		t.Logf("inbox of %s: %v", user, err)
	}
	return ns
}

// diff names what got has that want lacks and the other way round.
func diff(got, want []string) string {
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
	}
	var extra, missing []string
	for k, n := range count {
		for ; n > 0; n-- {
			extra = append(extra, k)
		}
		for ; n < 0; n++ {
			missing = append(missing, k)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	return fmt.Sprintf("extra %v, missing %v", extra, missing)
}

// report prints the suite's summary and fails the test on any problem.
func (h *history) report(t *testing.T, faults []faultReport) {
	t.Helper()
	lost, conflicting, mismatched, dupDone, reemitted := 0, 0, 0, 0, 0
	for _, p := range h.problems {
		switch {
		case strings.HasPrefix(p, "lost"):
			lost++
		case strings.HasPrefix(p, "conflicting"):
			conflicting++
		case strings.HasPrefix(p, "mismatch"):
			mismatched++
		}
	}
	for id, n := range h.completeRec {
		if _, ours := h.items[id]; ours && n > 1 {
			dupDone += n - 1
		}
	}
	for id, n := range h.records {
		if _, ok := h.placed[id]; ok && n > 1 {
			reemitted += n - 1
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| auctions | soft closes moved | bids in log | acknowledged | lost | conflicting | outcome mismatches | completion re-emissions (same id) | verdict re-emissions (same id) | outbid notices | email copies (same Message-ID) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n\n", len(h.items), h.moved, len(h.placed), len(h.w.acked),
		lost, conflicting, mismatched, dupDone, reemitted, len(h.outbids), h.mailCopies)
	fmt.Fprintf(&b, "A re-emission repeats an event with the same id and content: goka re-processes what it had not committed when it was killed.\n\n")
	fmt.Fprintf(&b, "| fault | down | ready after restart | worst verdict latency (bids placed until the next fault) |\n|---|---|---|---|\n")
	for i, f := range faults {
		until := f.at.Add(faultGap)
		if i+1 < len(faults) {
			until = faults[i+1].at
		}
		var worst time.Duration
		for id, at := range h.placed {
			if !at.Before(f.at) && at.Before(until) {
				worst = max(worst, h.latency[id])
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.kind, f.down.Round(10*time.Millisecond), f.toReady.Round(10*time.Millisecond), worst.Round(10*time.Millisecond))
	}
	t.Log(b.String())
	for _, p := range h.problems {
		t.Error(p)
	}
}

// record is one decoded record of a topic.
type record struct {
	key    []byte
	offset int64
	event  event.Event
}

// readEvents reads every partition of topic from the beginning to its end
// as it stands now, and decodes each record as an event (records that are
// not are left out); partitions one after another, each in offset order.
func readEvents(t *testing.T, brokers []string, topic string) []record {
	t.Helper()
	var out []record
	for _, r := range readRecords(t, brokers, topic) {
		e, err := cekafka.Decode(cekafka.Message{Key: r.key, Value: r.value, Headers: r.headers})
		if err == nil {
			out = append(out, record{key: r.key, offset: r.offset, event: e})
		}
	}
	return out
}

// rawRecord is one record of a topic as it is stored.
type rawRecord struct {
	key, value []byte
	headers    []cekafka.Header
	offset     int64
}

// readRecords reads every partition of topic from the beginning to its end
// as it stands now; partitions one after another, each in offset order.
func readRecords(t *testing.T, brokers []string, topic string) []rawRecord {
	t.Helper()
	c := kafkatest.Consumer(t, kafka.ConfigMap{
		"bootstrap.servers": strings.Join(brokers, ","), "group.id": "fault-checker",
		"enable.auto.commit": false, "log_level": 4,
	})
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, 10000)
	if err != nil {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	byPart := map[int32][]rawRecord{}
	ends := map[int32]int64{}
	var tps []kafka.TopicPartition
	for _, p := range md.Topics[topic].Partitions {
		_, high, err := c.QueryWatermarkOffsets(topic, p.ID, 10000)
		if err != nil {
			t.Fatalf("watermarks of %s/%d: %v", topic, p.ID, err)
		}
		if high > 0 {
			ends[p.ID] = high
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p.ID, Offset: kafka.OffsetBeginning})
		}
	}
	if len(tps) == 0 {
		return nil
	}
	if err := c.Assign(tps); err != nil {
		t.Fatal(err)
	}
	left := len(ends)
	deadline := time.Now().Add(60 * time.Second)
	for left > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("read %s: not at its end within 60 s", topic)
		}
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue
		}
		p, off := m.TopicPartition.Partition, int64(m.TopicPartition.Offset)
		if off >= ends[p] {
			continue
		}
		byPart[p] = append(byPart[p], rawRecord{key: m.Key, value: m.Value, headers: kafkaio.FromKafkaHeaders(m.Headers), offset: off})
		if off == ends[p]-1 {
			left--
		}
	}
	var out []rawRecord
	parts := make([]int32, 0, len(byPart))
	for p := range byPart {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	for _, p := range parts {
		out = append(out, byPart[p]...)
	}
	return out
}

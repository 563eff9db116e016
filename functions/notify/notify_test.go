package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// The people of the tests: sam sells, ada wins, bob and cy lose.
var people = []userdir.User{
	{ID: "sam", Name: "Sam Seller", Email: "sam@example.com"},
	{ID: "ada", Name: "Ada Lovelace", Email: "ada@example.com"},
	{ID: "bob", Name: "Bob Bidder", Email: "bob@example.com"},
	{ID: "cy", Name: "Cy Young", Email: "cy@example.com"},
}

func directory(t *testing.T) *userdir.Memory {
	t.Helper()
	dir := userdir.NewMemory()
	for _, u := range people {
		if err := dir.Create(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var closedAt = time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)

// sold is an auction ada won against bob and cy; bob bid twice.
func sold() schemas.ItemCompleted {
	return schemas.ItemCompleted{
		ItemID:     "item-1",
		SellerID:   "sam",
		Title:      "Brass telescope",
		Category:   "antiques",
		Sold:       true,
		WinnerID:   "ada",
		Price:      &schemas.Money{Amount: 125050, Currency: "EUR"},
		ReserveMet: true,
		BidCount:   5,
		Bidders:    []string{"bob", "ada", "cy", "bob"},
		EndsAt:     closedAt.Add(-10 * time.Second),
		ClosedAt:   closedAt,
	}
}

// unsold is an auction whose reserve bob and cy did not meet.
func unsold() schemas.ItemCompleted {
	return schemas.ItemCompleted{
		ItemID:     "item-2",
		SellerID:   "sam",
		Title:      "Pocket watch",
		Category:   "antiques",
		Sold:       false,
		ReserveMet: false,
		BidCount:   2,
		Bidders:    []string{"bob", "cy"},
		EndsAt:     closedAt.Add(-10 * time.Second),
		ClosedAt:   closedAt,
	}
}

// clock is a Now that moves a millisecond per reading, safe for the
// notifier's concurrent readers.
func clock() func() time.Time {
	var ticks atomic.Int64
	return func() time.Time { return closedAt.Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
}

// outboxes are the stores the notifier tests run against.
func outboxes() []struct {
	name string
	new  func(t *testing.T) notify.Outbox
} {
	return []struct {
		name string
		new  func(t *testing.T) notify.Outbox
	}{
		{"memory", func(*testing.T) notify.Outbox { return notify.NewMemory() }},
		{"dynamo", func(t *testing.T) notify.Outbox {
			client := dynamotest.Client(t)
			return notify.NewDynamo(client, newTable(t, client))
		}},
	}
}

// wantMail is what one email must say.
type wantMail struct {
	to, subject string
	id          string   // notification id, for the Message-ID
	body        []string // each must appear in the body
}

// checkMails compares the server's messages with want, in any order.
func checkMails(t *testing.T, got []notifytest.Mail, want []wantMail) {
	t.Helper()
	if len(got) != len(want) {
		var to []string
		for _, m := range got {
			to = append(to, fmt.Sprint(m.To))
		}
		t.Fatalf("emails: got %d %v, want %d", len(got), to, len(want))
	}
	// By recipient and notification: one person may be sent several.
	byTo := map[string]notifytest.Mail{}
	for _, m := range got {
		if len(m.To) != 1 {
			t.Errorf("email %q: got recipients %v, want one", m.Subject, m.To)
			continue
		}
		byTo[m.To[0]+" "+m.Header.Get("Message-Id")] = m
	}
	for _, w := range want {
		m, ok := byTo[w.to+" "+notify.MessageID(w.id)]
		if !ok {
			t.Errorf("no email to %s with the Message-ID of %s", w.to, w.id)
			continue
		}
		if m.Subject != w.subject {
			t.Errorf("email to %s: subject: got %q, want %q", w.to, m.Subject, w.subject)
		}
		if got := m.Header.Get("To"); got != "<"+w.to+">" {
			t.Errorf("email to %s: To header: got %q, want %q", w.to, got, "<"+w.to+">")
		}
		if m.From != "noreply@auction.example" {
			t.Errorf("email to %s: envelope sender: got %q, want %q", w.to, m.From, "noreply@auction.example")
		}
		for _, s := range w.body {
			if !strings.Contains(m.Body, s) {
				t.Errorf("email to %s: body %q does not mention %q", w.to, m.Body, s)
			}
		}
	}
}

// checkInbox checks that each user has exactly the notifications with ids,
// all marked sent.
func checkInbox(t *testing.T, o notify.Outbox, want map[string][]string) {
	t.Helper()
	for user, ids := range want {
		got, err := o.ForUser(t.Context(), user, 100)
		if err != nil {
			t.Fatalf("ForUser(%s): %v", user, err)
		}
		var gotIDs []string
		for _, n := range got {
			gotIDs = append(gotIDs, n.ID)
			if n.SentAt == nil {
				t.Errorf("inbox of %s: %s is not marked sent", user, n.ID)
			}
		}
		slices.Sort(gotIDs)
		slices.Sort(ids)
		if !slices.Equal(gotIDs, ids) {
			t.Errorf("inbox of %s: got %v, want %v", user, gotIDs, ids)
		}
	}
}

func newMailer(ms *notifytest.MailServer) notify.SMTPMailer {
	return notify.SMTPMailer{Addr: ms.Addr, From: "Auction <noreply@auction.example>"}
}

// TestHandleSendsEmails: a closed auction with a winner, two losers and a
// seller sends four emails through a real SMTP server, and handling the same
// batch again (a redelivery) sends none and adds nothing to the inbox.
func TestHandleSendsEmails(t *testing.T) {
	for _, ob := range outboxes() {
		t.Run(ob.name, func(t *testing.T) {
			t.Parallel()
			ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
			outbox := ob.new(t)
			n := notify.New(notify.Deps{Outbox: outbox, Mailer: newMailer(ms), Users: directory(t), Now: clock()})

			batch := []schemas.ItemCompleted{sold()}
			first, err := n.Handle(t.Context(), batch)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			want := []wantMail{
				{"ada@example.com", "You won: Brass telescope", "item-1/ada/won", []string{"Hello Ada Lovelace,", `"Brass telescope"`, "€1,250.50", "You won"}},
				{"bob@example.com", "Auction closed: Brass telescope", "item-1/bob/lost", []string{"Hello Bob Bidder,", `"Brass telescope"`, "€1,250.50", "another bidder won"}},
				{"cy@example.com", "Auction closed: Brass telescope", "item-1/cy/lost", []string{`"Brass telescope"`, "€1,250.50", "another bidder won"}},
				{"sam@example.com", "Sold: Brass telescope", "item-1/sam/sold", []string{`"Brass telescope"`, "sold for €1,250.50"}},
			}
			checkMails(t, ms.Mails(), want)

			var gotEvents []string
			for _, ev := range first {
				gotEvents = append(gotEvents, fmt.Sprintf("%s %s %s %v", ev.NotificationID, ev.UserID, ev.Kind, ev.Channels))
				if ev.ItemID != "item-1" || ev.SentAt.IsZero() || !strings.Contains(ev.Message, "Brass telescope") {
					t.Errorf("event %s: got %+v, want item-1, a sent time and the title", ev.NotificationID, ev)
				}
			}
			wantEvents := []string{
				"item-1/ada/won ada won [inbox email]",
				"item-1/bob/lost bob lost [inbox email]",
				"item-1/cy/lost cy lost [inbox email]",
				"item-1/sam/sold sam sold [inbox email]",
			}
			if !slices.Equal(gotEvents, wantEvents) {
				t.Errorf("events:\ngot  %q\nwant %q", gotEvents, wantEvents)
			}

			again, err := n.Handle(t.Context(), batch)
			if err != nil {
				t.Fatalf("Handle again: %v", err)
			}
			checkMails(t, ms.Mails(), want)
			checkInbox(t, outbox, map[string][]string{
				"ada": {"item-1/ada/won"}, "bob": {"item-1/bob/lost"},
				"cy": {"item-1/cy/lost"}, "sam": {"item-1/sam/sold"},
			})
			// The redelivery repeats the events, identically, so a batch
			// whose events were lost is not left without them.
			if !reflect.DeepEqual(again, first) {
				t.Errorf("events of the redelivery:\ngot  %+v\nwant %+v", again, first)
			}
		})
	}
}

// TestHandleUnsold: the seller hears the item did not sell and why, the
// bidders that it closed without a sale.
func TestHandleUnsold(t *testing.T) {
	ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	outbox := notify.NewMemory()
	n := notify.New(notify.Deps{Outbox: outbox, Mailer: newMailer(ms), Users: directory(t), Now: clock()})
	events, err := n.Handle(t.Context(), []schemas.ItemCompleted{unsold()})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	checkMails(t, ms.Mails(), []wantMail{
		{"bob@example.com", "Auction closed: Pocket watch", "item-2/bob/lost", []string{`"Pocket watch"`, "without a sale", "reserve price was not met"}},
		{"cy@example.com", "Auction closed: Pocket watch", "item-2/cy/lost", []string{`"Pocket watch"`, "without a sale"}},
		{"sam@example.com", "Not sold: Pocket watch", "item-2/sam/unsold", []string{`"Pocket watch"`, "did not sell", "reserve price was not met"}},
	})
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, ev.UserID+" "+string(ev.Kind))
	}
	if want := []string{"bob lost", "cy lost", "sam unsold"}; !slices.Equal(kinds, want) {
		t.Errorf("events: got %q, want %q", kinds, want)
	}
}

// TestHandleMessages: what each party is told, by case.
func TestHandleMessages(t *testing.T) {
	noBids := unsold()
	noBids.Bidders, noBids.BidCount = nil, 0
	yen := sold()
	yen.Price = &schemas.Money{Amount: 1500000, Currency: "JPY"}
	tests := []struct {
		name string
		ic   schemas.ItemCompleted
		want map[string]string // notification id → message
	}{
		{"sold", sold(), map[string]string{
			"item-1/ada/won":  `You won the auction for "Brass telescope" with your bid of €1,250.50.`,
			"item-1/bob/lost": `The auction for "Brass telescope" has closed and another bidder won it for €1,250.50.`,
			"item-1/cy/lost":  `The auction for "Brass telescope" has closed and another bidder won it for €1,250.50.`,
			"item-1/sam/sold": `Your item "Brass telescope" sold for €1,250.50.`,
		}},
		{"reserve not met", unsold(), map[string]string{
			"item-2/bob/lost":   `The auction for "Pocket watch" has closed without a sale: the reserve price was not met.`,
			"item-2/cy/lost":    `The auction for "Pocket watch" has closed without a sale: the reserve price was not met.`,
			"item-2/sam/unsold": `Your item "Pocket watch" did not sell: the reserve price was not met.`,
		}},
		{"no bids", noBids, map[string]string{
			"item-2/sam/unsold": `Your item "Pocket watch" did not sell: there were no bids.`,
		}},
		{"currency without minor units", yen, map[string]string{
			"item-1/ada/won":  `You won the auction for "Brass telescope" with your bid of ¥1,500,000.`,
			"item-1/bob/lost": `The auction for "Brass telescope" has closed and another bidder won it for ¥1,500,000.`,
			"item-1/cy/lost":  `The auction for "Brass telescope" has closed and another bidder won it for ¥1,500,000.`,
			"item-1/sam/sold": `Your item "Brass telescope" sold for ¥1,500,000.`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := notify.New(notify.Deps{Outbox: notify.NewMemory(), Mailer: &fakeMailer{}, Users: directory(t), Now: clock()})
			events, err := n.Handle(t.Context(), []schemas.ItemCompleted{tt.ic})
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := map[string]string{}
			for _, ev := range events {
				got[ev.NotificationID] = ev.Message
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("messages:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestHandleUnknownUser: a bidder the directory does not know gets an inbox
// entry and no email, which is logged; the others are notified as usual.
func TestHandleUnknownUser(t *testing.T) {
	ic := sold()
	ic.Bidders = append(ic.Bidders, "ghost")
	var logs bytes.Buffer
	mailer := &fakeMailer{}
	outbox := notify.NewMemory()
	n := notify.New(notify.Deps{
		Outbox: outbox, Mailer: mailer, Users: directory(t), Now: clock(),
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	events, err := n.Handle(t.Context(), []schemas.ItemCompleted{ic})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got := mailer.recipients(); !slices.Equal(got, []string{"ada@example.com", "bob@example.com", "cy@example.com", "sam@example.com"}) {
		t.Errorf("emails to: got %v, want the four known users", got)
	}
	checkInbox(t, outbox, map[string][]string{"ghost": {"item-1/ghost/lost"}})
	i := slices.IndexFunc(events, func(ev schemas.NotificationSent) bool { return ev.UserID == "ghost" })
	if i < 0 {
		t.Fatalf("no event for ghost in %+v", events)
	}
	if got := events[i].Channels; !slices.Equal(got, []string{notify.ChannelInbox}) {
		t.Errorf("ghost's channels: got %v, want [inbox]", got)
	}
	if !strings.Contains(logs.String(), "user=ghost") {
		t.Errorf("log: got %q, want a line about user ghost", logs.String())
	}
}

// TestHandleErrors: the machinery failing is an error (the trigger retries);
// an event that cannot be handled fails before anything is sent.
func TestHandleErrors(t *testing.T) {
	errDown := errors.New("directory down")
	tests := []struct {
		name  string
		users notify.Users
		ic    schemas.ItemCompleted
		want  error
	}{
		{"directory fails", failingUsers{errDown}, sold(), errDown},
		{"no item id", userdir.NewMemory(), schemas.ItemCompleted{SellerID: "sam"}, notify.ErrInvalid},
		{"no seller id", userdir.NewMemory(), schemas.ItemCompleted{ItemID: "item-1"}, notify.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mailer := &fakeMailer{}
			n := notify.New(notify.Deps{Outbox: notify.NewMemory(), Mailer: mailer, Users: tt.users, Now: clock()})
			events, err := n.Handle(t.Context(), []schemas.ItemCompleted{tt.ic})
			if !errors.Is(err, tt.want) {
				t.Errorf("Handle: got %v, want %v", err, tt.want)
			}
			if len(events) != 0 || len(mailer.recipients()) != 0 {
				t.Errorf("got events %v and emails to %v, want none", events, mailer.recipients())
			}
		})
	}
}

// TestHandleResumesAfterCrash covers the window between sending an email and
// recording that it was sent: the email went out but the notifier failed (or
// crashed) before MarkSent. The redelivered batch sends that email again,
// with the same Message-ID, sends no other email twice, and leaves one inbox
// entry per notification.
func TestHandleResumesAfterCrash(t *testing.T) {
	errCrash := errors.New("crashed after sending")
	faults := []struct {
		name string
		// wrap adds the fault to the real mailer and outbox.
		wrap func(notify.Mailer, notify.Outbox) (notify.Mailer, notify.Outbox)
	}{
		{"mailer fails after sending", func(m notify.Mailer, o notify.Outbox) (notify.Mailer, notify.Outbox) {
			return &sendThenFail{Mailer: m, id: "item-1/bob/lost", err: errCrash}, o
		}},
		{"MarkSent fails", func(m notify.Mailer, o notify.Outbox) (notify.Mailer, notify.Outbox) {
			return m, &markSentFails{Outbox: o, id: "item-1/bob/lost", err: errCrash}
		}},
	}
	for _, ob := range outboxes() {
		for _, f := range faults {
			t.Run(ob.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
				outbox := ob.new(t)
				mailer, faulty := f.wrap(newMailer(ms), outbox)
				// One at a time, so that the failure stops the batch at a
				// known point rather than racing the other notifications.
				n := notify.New(notify.Deps{Outbox: faulty, Mailer: mailer, Users: directory(t), Now: clock(), Concurrency: 1})

				batch := []schemas.ItemCompleted{sold()}
				if _, err := n.Handle(t.Context(), batch); !errors.Is(err, errCrash) {
					t.Fatalf("Handle: got %v, want %v", err, errCrash)
				}
				events, err := n.Handle(t.Context(), batch)
				if err != nil {
					t.Fatalf("Handle the redelivery: %v", err)
				}
				if len(events) != 4 {
					t.Errorf("events of the redelivery: got %d, want 4", len(events))
				}

				counts := map[string]int{} // Message-ID → copies
				for _, m := range ms.Mails() {
					counts[m.Header.Get("Message-Id")]++
				}
				want := map[string]int{
					notify.MessageID("item-1/ada/won"):  1,
					notify.MessageID("item-1/bob/lost"): 2, // the resend, recognisable as such
					notify.MessageID("item-1/cy/lost"):  1,
					notify.MessageID("item-1/sam/sold"): 1,
				}
				if !reflect.DeepEqual(counts, want) {
					t.Errorf("copies per Message-ID: got %v, want %v", counts, want)
				}
				checkInbox(t, outbox, map[string][]string{
					"ada": {"item-1/ada/won"}, "bob": {"item-1/bob/lost"},
					"cy": {"item-1/cy/lost"}, "sam": {"item-1/sam/sold"},
				})
			})
		}
	}
}

// TestHandleMailerDown: a mailer that cannot send fails the batch, and
// nothing is marked sent, so the retry sends everything.
func TestHandleMailerDown(t *testing.T) {
	outbox := notify.NewMemory()
	down := &fakeMailer{err: errors.New("connection refused")}
	n := notify.New(notify.Deps{Outbox: outbox, Mailer: down, Users: directory(t), Now: clock()})
	batch := []schemas.ItemCompleted{sold()}
	if _, err := n.Handle(t.Context(), batch); !errors.Is(err, down.err) {
		t.Fatalf("Handle: got %v, want %v", err, down.err)
	}
	up := &fakeMailer{}
	n = notify.New(notify.Deps{Outbox: outbox, Mailer: up, Users: directory(t), Now: clock()})
	if _, err := n.Handle(t.Context(), batch); err != nil {
		t.Fatalf("Handle the retry: %v", err)
	}
	if got := up.recipients(); len(got) != 4 {
		t.Errorf("emails of the retry: got %v, want 4", got)
	}
	checkInbox(t, outbox, map[string][]string{
		"ada": {"item-1/ada/won"}, "bob": {"item-1/bob/lost"},
		"cy": {"item-1/cy/lost"}, "sam": {"item-1/sam/sold"},
	})
}

// TestHandleCanceled: a caller that has given up gets an error, not a
// partial answer, even from stores and mailers that ignore ctx.
func TestHandleCanceled(t *testing.T) {
	mailer := &fakeMailer{}
	n := notify.New(notify.Deps{Outbox: notify.NewMemory(), Mailer: mailer, Users: directory(t), Now: clock()})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	events, err := n.Handle(ctx, []schemas.ItemCompleted{sold()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Handle: got %v, want %v", err, context.Canceled)
	}
	if len(events) != 0 || len(mailer.recipients()) != 0 {
		t.Errorf("got events %v and emails to %v, want none", events, mailer.recipients())
	}
}

// TestHandleDuplicateInBatch: the same event twice in one batch notifies
// once, and reports each notification once.
func TestHandleDuplicateInBatch(t *testing.T) {
	mailer := &fakeMailer{}
	n := notify.New(notify.Deps{Outbox: notify.NewMemory(), Mailer: mailer, Users: directory(t), Now: clock()})
	events, err := n.Handle(t.Context(), []schemas.ItemCompleted{sold(), unsold(), sold()})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := len(mailer.recipients()), 7; got != want {
		t.Errorf("emails: got %d, want %d", got, want)
	}
	if got, want := len(events), 7; got != want {
		t.Errorf("events: got %d, want %d", got, want)
	}
}

// fakeMailer records what it is asked to send, or fails with err.
type fakeMailer struct {
	err  error
	mu   sync.Mutex
	sent []string // recipients
}

func (f *fakeMailer) Send(_ context.Context, to, _, _, _ string) error {
	if f.err != nil {
		return f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, to)
	return nil
}

func (f *fakeMailer) recipients() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.sent))
}

// sendThenFail sends the email of notification id, then reports err, once:
// the connection dropped after the server took the message, or the process
// died before it could record the send.
type sendThenFail struct {
	notify.Mailer
	id     string
	err    error
	failed atomic.Bool
}

func (s *sendThenFail) Send(ctx context.Context, to, subject, body, messageID string) error {
	if err := s.Mailer.Send(ctx, to, subject, body, messageID); err != nil {
		return err
	}
	if messageID == s.id && s.failed.CompareAndSwap(false, true) {
		return s.err
	}
	return nil
}

// markSentFails fails the first MarkSent of notification id.
type markSentFails struct {
	notify.Outbox
	id     string
	err    error
	failed atomic.Bool
}

func (m *markSentFails) MarkSent(ctx context.Context, id string, at time.Time) error {
	if id == m.id && m.failed.CompareAndSwap(false, true) {
		return m.err
	}
	return m.Outbox.MarkSent(ctx, id, at)
}

type failingUsers struct{ err error }

func (f failingUsers) Get(context.Context, string) (userdir.User, error) {
	return userdir.User{}, f.err
}

// accepted is bidder's accepted bid of amount (EUR cents) on item-1 at at,
// overtaking over's bid of overAmount ("" for none).
func accepted(bidID, bidder string, amount int64, over string, overAmount int64, at time.Time) schemas.BidAccepted {
	a := schemas.BidAccepted{BidID: bidID, ItemID: "item-1", BidderID: bidder,
		Amount: schemas.Money{Amount: amount, Currency: "EUR"}, PlacedAt: at.Add(-time.Second), DecidedAt: at, BidCount: 1}
	if over != "" {
		a.Outbid = &schemas.Outbid{BidID: "bid-of-" + over, BidderID: over,
			Amount: schemas.Money{Amount: overAmount, Currency: "EUR"}, Title: "Brass telescope"}
	}
	return a
}

// TestHandleOutbid: a bidder whose bid is overtaken by another's is told,
// by email and in the inbox, once per item in each window however often
// they are overtaken in it; nobody is told of a first bid or of raising
// their own; and a redelivered batch sends nothing more.
func TestHandleOutbid(t *testing.T) {
	for _, ob := range outboxes() {
		t.Run(ob.name, func(t *testing.T) {
			t.Parallel()
			ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
			outbox := ob.new(t)
			window := time.Minute
			n := notify.New(notify.Deps{Outbox: outbox, Mailer: newMailer(ms), Users: directory(t), Now: clock(), OutbidWindow: window})

			w0 := closedAt.Truncate(window)
			batch := []schemas.BidAccepted{
				accepted("b1", "bob", 10000, "", 0, w0.Add(time.Second)),                  // the first bid: nobody outbid
				accepted("b2", "bob", 11000, "bob", 10000, w0.Add(2*time.Second)),         // bob raises his own
				accepted("b3", "ada", 12000, "bob", 11000, w0.Add(3*time.Second)),         // bob outbid
				accepted("b4", "bob", 13000, "ada", 12000, w0.Add(4*time.Second)),         // ada outbid
				accepted("b5", "cy", 14000, "bob", 13000, w0.Add(5*time.Second)),          // bob again, same window
				accepted("b6", "bob", 15000, "cy", 14000, w0.Add(window-time.Nanosecond)), // cy outbid
				accepted("b7", "ada", 16000, "bob", 15000, w0.Add(window)),                // bob, next window
			}
			first, err := n.HandleOutbid(t.Context(), batch)
			if err != nil {
				t.Fatalf("HandleOutbid: %v", err)
			}
			id := func(user string, at time.Time) string { return notify.OutbidID("item-1", user, at, window) }
			bob0, ada0, cy0, bob1 := id("bob", w0), id("ada", w0), id("cy", w0), id("bob", w0.Add(window))
			var gotIDs []string
			for _, ev := range first {
				gotIDs = append(gotIDs, ev.NotificationID)
				if ev.Kind != schemas.NotifyOutbid || ev.ItemID != "item-1" {
					t.Errorf("event %s: got %+v, want an outbid notice about item-1", ev.NotificationID, ev)
				}
			}
			if want := []string{bob0, ada0, cy0, bob1}; !slices.Equal(gotIDs, want) {
				t.Fatalf("notices: got %q, want %q", gotIDs, want)
			}
			if bob0 == bob1 {
				t.Fatalf("two windows share the id %s", bob0)
			}
			want := []wantMail{
				{"bob@example.com", `Outbid: "Brass telescope"`, bob0, []string{"Hello Bob Bidder,", `Your bid of €110.00 on "Brass telescope" has been outbid: the highest bid is now €120.00.`}},
				{"ada@example.com", `Outbid: "Brass telescope"`, ada0, []string{"€120.00", "€130.00"}},
				{"cy@example.com", `Outbid: "Brass telescope"`, cy0, []string{"€140.00", "€150.00"}},
				{"bob@example.com", `Outbid: "Brass telescope"`, bob1, []string{"€150.00", "€160.00"}},
			}
			checkMails(t, ms.Mails(), want)

			again, err := n.HandleOutbid(t.Context(), batch)
			if err != nil {
				t.Fatalf("HandleOutbid again: %v", err)
			}
			checkMails(t, ms.Mails(), want)
			checkInbox(t, outbox, map[string][]string{"bob": {bob0, bob1}, "ada": {ada0}, "cy": {cy0}})
			if !reflect.DeepEqual(again, first) {
				t.Errorf("events of the redelivery:\ngot  %+v\nwant %+v", again, first)
			}
		})
	}
}

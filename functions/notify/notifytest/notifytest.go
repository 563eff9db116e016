// Package notifytest holds what tests of the notify-bidders function share:
// the contract every notify.Outbox keeps, written once and run against each
// implementation (Memory, and Dynamo on dynalite or DynamoDB), and
// MailServer, a real SMTP server that keeps what it receives.
package notifytest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/schemas"
)

// RunOutboxContract runs the contract as subtests of t. newOutbox returns an
// empty Outbox for one subtest; the subtests run in parallel, so outboxes
// must not share data (for DynamoDB: one table each).
func RunOutboxContract(t *testing.T, newOutbox func(t *testing.T) notify.Outbox) {
	tests := []struct {
		name string
		run  func(t *testing.T, o notify.Outbox)
	}{
		{"RoundTrip", testRoundTrip},
		{"ReserveTwice", testReserveTwice},
		{"ForUserNewestFirst", testForUserNewestFirst},
		{"ForUserLimit", testForUserLimit},
		{"MarkSent", testMarkSent},
		{"MarkSentUnknown", testMarkSentUnknown},
		{"Invalid", testInvalid},
		{"ConcurrentReserve", testConcurrentReserve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newOutbox(t))
		})
	}
}

// base is a fixed instant the notifications of a test are stamped around.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// notification returns a fully populated, unsent notification.
func notification(item, user string, kind schemas.NotificationKind, at time.Time) notify.Notification {
	return notify.Notification{
		ID:      notify.ID(item, user, kind),
		UserID:  user,
		ItemID:  item,
		Kind:    kind,
		Message: fmt.Sprintf("%s: %s about %s", user, kind, item),
		At:      at,
		Email:   user + "@example.com",
	}
}

// testRoundTrip: every field comes back from Reserve and ForUser; At keeps
// the instant to the nanosecond whatever zone it was given in.
func testRoundTrip(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	in := notification("item-1", "ada", schemas.NotifyWon, base.In(time.FixedZone("CET", 3600)))
	stored, fresh, err := o.Reserve(ctx, in)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if !fresh {
		t.Errorf("Reserve into an empty outbox: got fresh false, want true")
	}
	check(t, "Reserve", stored, in)
	got, err := o.ForUser(ctx, "ada", 10)
	if err != nil {
		t.Fatalf("ForUser: %v", err)
	}
	checkAll(t, "ForUser", got, []notify.Notification{in})

	// Optional fields left empty come back empty.
	sparse := notify.Notification{ID: "item-2/bob/lost", UserID: "bob", At: base}
	if _, _, err := o.Reserve(ctx, sparse); err != nil {
		t.Fatalf("Reserve sparse: %v", err)
	}
	got, err = o.ForUser(ctx, "bob", 10)
	if err != nil {
		t.Fatalf("ForUser: %v", err)
	}
	checkAll(t, "ForUser sparse", got, []notify.Notification{sparse})
}

// testReserveTwice: the second Reserve of an id is not fresh, changes
// nothing, and returns what the first stored even if it was given
// something else (a redelivery stamps a later At).
func testReserveTwice(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	first := notification("item-1", "ada", schemas.NotifyWon, base)
	if _, fresh, err := o.Reserve(ctx, first); err != nil || !fresh {
		t.Fatalf("first Reserve: got fresh %v, %v; want true, nil", fresh, err)
	}
	again := first
	again.At = base.Add(time.Hour)
	again.Message = "something else"
	stored, fresh, err := o.Reserve(ctx, again)
	if err != nil {
		t.Fatalf("second Reserve: %v", err)
	}
	if fresh {
		t.Errorf("second Reserve: got fresh true, want false")
	}
	check(t, "second Reserve", stored, first)
	got, err := o.ForUser(ctx, "ada", 10)
	if err != nil {
		t.Fatalf("ForUser: %v", err)
	}
	checkAll(t, "ForUser after two Reserves", got, []notify.Notification{first})
}

// testForUserNewestFirst: a user sees only their own notifications, newest
// first, whatever order they were reserved in; a user with none gets none.
func testForUserNewestFirst(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	var (
		ada = []notify.Notification{
			notification("item-2", "ada", schemas.NotifyLost, base.Add(2*time.Minute)),
			notification("item-1", "ada", schemas.NotifyWon, base),
			// Earlier than the one above, in the same second: as RFC 3339
			// text without trailing zeros ("…:26Z" against "…:26.5…Z") it
			// would sort as the later one.
			notification("item-3", "ada", schemas.NotifySold, base.Truncate(time.Second)),
			notification("item-4", "ada", schemas.NotifyUnsold, base.Add(time.Minute)),
		}
		bob = notification("item-1", "bob", schemas.NotifyLost, base.Add(time.Hour))
	)
	for _, n := range append([]notify.Notification{bob}, ada...) {
		if _, _, err := o.Reserve(ctx, n); err != nil {
			t.Fatalf("Reserve %s: %v", n.ID, err)
		}
	}
	got, err := o.ForUser(ctx, "ada", 10)
	if err != nil {
		t.Fatalf("ForUser(ada): %v", err)
	}
	checkAll(t, "ForUser(ada)", got, []notify.Notification{ada[0], ada[3], ada[1], ada[2]})
	got, err = o.ForUser(ctx, "bob", 10)
	if err != nil {
		t.Fatalf("ForUser(bob): %v", err)
	}
	checkAll(t, "ForUser(bob)", got, []notify.Notification{bob})
	got, err = o.ForUser(ctx, "nobody", 10)
	if err != nil || len(got) != 0 {
		t.Errorf("ForUser(nobody): got %v, %v; want none, nil", got, err)
	}
}

// testForUserLimit: limit takes the newest, at any size.
func testForUserLimit(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	const n = 30
	var all []notify.Notification // newest first
	for i := n - 1; i >= 0; i-- {
		all = append(all, notification(fmt.Sprintf("item-%02d", i), "ada", schemas.NotifyLost, base.Add(time.Duration(i)*time.Second)))
	}
	for _, x := range all {
		if _, _, err := o.Reserve(ctx, x); err != nil {
			t.Fatalf("Reserve %s: %v", x.ID, err)
		}
	}
	for _, limit := range []int{1, 7, n, n + 5} {
		got, err := o.ForUser(ctx, "ada", limit)
		if err != nil {
			t.Fatalf("ForUser limit %d: %v", limit, err)
		}
		checkAll(t, fmt.Sprintf("ForUser limit %d", limit), got, all[:min(limit, n)])
	}
}

// testMarkSent: the mark is seen by Reserve (which is how a redelivery knows
// not to send) and by ForUser; the first mark stands.
func testMarkSent(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	n := notification("item-1", "ada", schemas.NotifyWon, base)
	other := notification("item-1", "bob", schemas.NotifyLost, base)
	for _, x := range []notify.Notification{n, other} {
		if _, _, err := o.Reserve(ctx, x); err != nil {
			t.Fatalf("Reserve %s: %v", x.ID, err)
		}
	}
	sentAt := base.Add(250 * time.Millisecond)
	if err := o.MarkSent(ctx, n.ID, sentAt.In(time.FixedZone("EST", -5*3600))); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if err := o.MarkSent(ctx, n.ID, sentAt.Add(time.Minute)); err != nil {
		t.Fatalf("MarkSent again: %v", err)
	}
	want := n
	want.SentAt = &sentAt

	stored, fresh, err := o.Reserve(ctx, n)
	if err != nil {
		t.Fatalf("Reserve after MarkSent: %v", err)
	}
	if fresh {
		t.Errorf("Reserve after MarkSent: got fresh true, want false")
	}
	check(t, "Reserve after MarkSent", stored, want)
	got, err := o.ForUser(ctx, "ada", 10)
	if err != nil {
		t.Fatalf("ForUser: %v", err)
	}
	checkAll(t, "ForUser after MarkSent", got, []notify.Notification{want})
	// Marking one notification leaves the others alone.
	got, err = o.ForUser(ctx, "bob", 10)
	if err != nil {
		t.Fatalf("ForUser(bob): %v", err)
	}
	checkAll(t, "ForUser(bob)", got, []notify.Notification{other})
}

func testMarkSentUnknown(t *testing.T, o notify.Outbox) {
	if err := o.MarkSent(t.Context(), "no/such/id", base); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("MarkSent(unknown id): got %v, want %v", err, notify.ErrNotFound)
	}
}

func testInvalid(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	for _, n := range []notify.Notification{
		{UserID: "ada", At: base},
		{ID: "item-1/ada/won", At: base},
	} {
		if _, _, err := o.Reserve(ctx, n); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("Reserve(%+v): got %v, want %v", n, err, notify.ErrInvalid)
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := o.ForUser(ctx, "ada", limit); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("ForUser limit %d: got %v, want %v", limit, err, notify.ErrInvalid)
		}
	}
}

// testConcurrentReserve: of racing Reserves of one id (each stamped
// differently, as racing deliveries would be), exactly one is fresh, all
// return what it stored, and the inbox holds one entry.
func testConcurrentReserve(t *testing.T, o notify.Outbox) {
	ctx := t.Context()
	const n = 10
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		stored = make([]notify.Notification, n)
		fresh  = make([]bool, n)
		errs   = make([]error, n)
		in     = make([]notify.Notification, n)
	)
	for i := range n {
		in[i] = notification("item-1", "ada", schemas.NotifyWon, base.Add(time.Duration(i)*time.Millisecond))
		wg.Go(func() {
			<-start
			stored[i], fresh[i], errs[i] = o.Reserve(ctx, in[i])
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("Reserve %d: %v", i, errs[i])
		case fresh[i] && winner >= 0:
			t.Errorf("Reserve %d and Reserve %d were both fresh; want exactly one", winner, i)
		case fresh[i]:
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no Reserve was fresh")
	}
	for i := range n {
		if errs[i] == nil {
			check(t, fmt.Sprintf("Reserve %d", i), stored[i], in[winner])
		}
	}
	got, err := o.ForUser(ctx, "ada", 10)
	if err != nil {
		t.Fatalf("ForUser: %v", err)
	}
	checkAll(t, "ForUser after racing Reserves", got, []notify.Notification{in[winner]})
}

func checkAll(t *testing.T, what string, got, want []notify.Notification) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d notifications %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
		return
	}
	for i := range got {
		check(t, fmt.Sprintf("%s [%d]", what, i), got[i], want[i])
	}
}

// check compares every field; times must hold the same instant, in any zone.
func check(t *testing.T, what string, got, want notify.Notification) {
	t.Helper()
	if !got.At.Equal(want.At) {
		t.Errorf("%s: At: got %v, want %v", what, got.At, want.At)
	}
	switch {
	case (got.SentAt == nil) != (want.SentAt == nil):
		t.Errorf("%s: SentAt: got %v, want %v", what, fmtTime(got.SentAt), fmtTime(want.SentAt))
	case got.SentAt != nil && !got.SentAt.Equal(*want.SentAt):
		t.Errorf("%s: SentAt: got %v, want %v", what, fmtTime(got.SentAt), fmtTime(want.SentAt))
	}
	got.At, want.At, got.SentAt, want.SentAt = time.Time{}, time.Time{}, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.Format(time.RFC3339Nano)
}

func ids(ns []notify.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

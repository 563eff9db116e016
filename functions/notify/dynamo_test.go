package notify_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// The contract (contract_test.go) covers what every Outbox does. These tests
// cover what only Dynamo has: two items per notification written without a
// transaction, and the crash windows between the writes (see Dynamo's
// documentation), which need faults injected between them.

// newTable creates an empty outbox table for t and deletes it when t ends.
func newTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	return dynamotest.NewTable(t, client, notify.EnsureTable)
}

var errInjected = errors.New("injected fault")

// faultyAPI passes calls to a real DynamoDB, except the ones a test breaks,
// each once.
type faultyAPI struct {
	notify.DynamoAPI
	// failInboxPut fails the next put of an inbox entry ("user#" key).
	failInboxPut atomic.Bool
	// failUpdate fails the next UpdateItem (the record's sent mark).
	failUpdate atomic.Bool
}

func (f *faultyAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if pk, _ := in.Item["pk"].(*types.AttributeValueMemberS); pk != nil && strings.HasPrefix(pk.Value, "user#") && f.failInboxPut.CompareAndSwap(true, false) {
		return nil, errInjected
	}
	return f.DynamoAPI.PutItem(ctx, in, opts...)
}

func (f *faultyAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.failUpdate.CompareAndSwap(true, false) {
		return nil, errInjected
	}
	return f.DynamoAPI.UpdateItem(ctx, in, opts...)
}

func newFaulty(t *testing.T) (*faultyAPI, *notify.Dynamo) {
	t.Helper()
	client := dynamotest.Client(t)
	api := &faultyAPI{DynamoAPI: client}
	return api, notify.NewDynamo(api, newTable(t, client))
}

func testNotification(at time.Time) notify.Notification {
	return notify.Notification{
		ID: notify.ID("item-1", "ada", schemas.NotifyWon), UserID: "ada", ItemID: "item-1",
		Kind: schemas.NotifyWon, Message: "You won.", At: at, Email: "ada@example.com",
	}
}

// inbox returns the user's inbox.
func inbox(t *testing.T, o notify.Outbox, user string) []notify.Notification {
	t.Helper()
	got, err := o.ForUser(t.Context(), user, 10)
	if err != nil {
		t.Fatalf("ForUser(%s): %v", user, err)
	}
	return got
}

// TestDynamoReserveRepairsInbox: a crash between the record and the inbox
// entry leaves an intent with no entry; the next Reserve of the id (the
// redelivery) writes the entry, from the record rather than from its own
// differently stamped argument.
func TestDynamoReserveRepairsInbox(t *testing.T) {
	api, o := newFaulty(t)
	ctx := t.Context()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	first := testNotification(at)

	api.failInboxPut.Store(true)
	if _, _, err := o.Reserve(ctx, first); !errors.Is(err, errInjected) {
		t.Fatalf("Reserve: got %v, want %v", err, errInjected)
	}
	if got := inbox(t, o, "ada"); len(got) != 0 {
		t.Fatalf("inbox after the crash: got %d entries, want 0", len(got))
	}

	redelivered := testNotification(at.Add(time.Minute))
	stored, fresh, err := o.Reserve(ctx, redelivered)
	if err != nil {
		t.Fatalf("Reserve again: %v", err)
	}
	if fresh {
		t.Errorf("Reserve again: got fresh true, want false: the intent was recorded before the crash")
	}
	if !stored.At.Equal(at) {
		t.Errorf("Reserve again: At: got %v, want the first %v", stored.At, at)
	}
	got := inbox(t, o, "ada")
	if len(got) != 1 || got[0].ID != first.ID || !got[0].At.Equal(at) {
		t.Errorf("inbox after the redelivery: got %+v, want one entry at %v", got, at)
	}
}

// TestDynamoMarkSentWindow: a crash after the inbox entry is marked and
// before the record is leaves the record unsent, so the notifier sends
// again; the next MarkSent brings both to the time of that send.
func TestDynamoMarkSentWindow(t *testing.T) {
	api, o := newFaulty(t)
	ctx := t.Context()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	n := testNotification(at)
	if _, _, err := o.Reserve(ctx, n); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	sent1, sent2 := at.Add(time.Second), at.Add(time.Minute)

	api.failUpdate.Store(true)
	if err := o.MarkSent(ctx, n.ID, sent1); !errors.Is(err, errInjected) {
		t.Fatalf("MarkSent: got %v, want %v", err, errInjected)
	}
	stored, _, err := o.Reserve(ctx, n)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if stored.SentAt != nil {
		t.Fatalf("record after the crash: got SentAt %v, want none (so the email is sent again)", stored.SentAt)
	}

	if err := o.MarkSent(ctx, n.ID, sent2); err != nil {
		t.Fatalf("MarkSent again: %v", err)
	}
	stored, _, err = o.Reserve(ctx, n)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if stored.SentAt == nil || !stored.SentAt.Equal(sent2) {
		t.Errorf("record: got SentAt %v, want %v", stored.SentAt, sent2)
	}
	got := inbox(t, o, "ada")
	if len(got) != 1 || got[0].SentAt == nil || !got[0].SentAt.Equal(sent2) {
		t.Errorf("inbox: got %+v, want one entry sent at %v", got, sent2)
	}
}

// TestEnsureTable: idempotent, and a table with other keys is refused with
// a clear error rather than failing on the first write.
func TestEnsureTable(t *testing.T) {
	client := dynamotest.Client(t)
	table := newTable(t, client)
	if err := notify.EnsureTable(t.Context(), client, table); err != nil {
		t.Errorf("EnsureTable on an existing table: %v", err)
	}

	other := dynamotest.NewTable(t, client, userdir.EnsureTable) // hash key only
	err := notify.EnsureTable(t.Context(), client, other)
	if err == nil || !strings.Contains(err.Error(), "key schema") {
		t.Errorf("EnsureTable on a users table: got %v, want a key schema error", err)
	}
}

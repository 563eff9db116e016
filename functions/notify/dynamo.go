package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/internal/dynamotable"
	"github.com/auctionflow/auction/schemas"
)

// DynamoAPI is the part of the DynamoDB client that Dynamo uses, declared by
// its consumer so tests can wrap a real client to inject faults.
// *dynamodb.Client satisfies it.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// TableAPI is the part of the DynamoDB client that EnsureTable uses; serving
// requests never needs it, and in production the function's role may not be
// allowed it.
type TableAPI = dynamotable.TableAPI

// Dynamo is an Outbox on one DynamoDB table with a string hash key "pk" and a
// string range key "sk", holding two items per notification:
//
//	pk = "notification#<id>", sk = "notification"   the record: the intent and the sent mark
//	pk = "user#<userId>",     sk = "<at>#<id>"       the inbox entry: a copy for ForUser
//
// Every attribute of the notification is on both (id, userId, itemId, kind,
// message, at, email, sentAt). <at> is At in UTC with exactly nine fractional
// digits, so that the text order of sort keys is the time order (RFC 3339
// with trailing zeros trimmed is not: "…:05Z" sorts after "…:05.1Z"). ForUser
// is one Query on the user's partition, backwards.
//
// The record exists so that "once per id" can be a conditional put: the
// inbox entry's key contains At, which differs between deliveries of one
// event, so it cannot be the guard itself.
//
// The two items are written without TransactWriteItems, which dynalite, the
// tests' DynamoDB, does not implement. The record is the truth and the
// inbox entry a projection of it: Reserve writes the entry after the record
// (and every later Reserve of the id writes it again if it is missing), and
// MarkSent marks the entry before the record (so a mark the record has, the
// entry has too). The crash windows, and why each is safe:
//
// Reserve puts the record if absent (the intent is now recorded, once), then
// puts the inbox entry if absent.
//
//   - Crash between the two: the intent exists and the inbox entry does not.
//     Nothing was sent: the notifier sends only after Reserve returns. The
//     retried batch calls Reserve again, which finds the record (not fresh)
//     and writes the missing inbox entry from it before returning. Until
//     then, the inbox lacks the entry for as long as the retry takes. The
//     call that crashed never reported fresh, so a caller may never see
//     fresh=true for a notification; the notifier does not rely on it.
//
// MarkSent reads the record (for the inbox key), puts the inbox entry with
// the sent mark, then sets the record's sent mark if it has none.
//
//   - Crash after the email, before the record is marked (before or after
//     the inbox entry is): the record says unsent, so the retried batch
//     sends the email again, with the same Message-ID, and marks both items
//     with the time of that send. This is the at-least-once email. Until
//     the retry, the inbox may already show the entry as sent, which it was.
//   - The record's update succeeds but its answer is lost: MarkSent fails,
//     the batch is retried, and Reserve finds the record sent: nothing is
//     sent again.
//   - Two MarkSent of one id at once (two instances briefly holding one
//     partition during a rebalance): the record keeps the first mark, the
//     inbox entry the last written; they differ by the gap between the two
//     sends, both of which happened.
//
// Nothing here ever deletes, so a record once read stays valid.
type Dynamo struct {
	api   DynamoAPI
	table string
}

var _ Outbox = (*Dynamo)(nil)

// NewDynamo returns an Outbox on table, which must exist with the keys
// EnsureTable gives it.
func NewDynamo(api DynamoAPI, table string) *Dynamo {
	return &Dynamo{api: api, table: table}
}

const (
	pkAttr          = "pk"
	skAttr          = "sk"
	recordKeyPrefix = "notification#"
	recordSortKey   = "notification"
	inboxKeyPrefix  = "user#"
	// atLayout is RFC 3339 with a fixed nine-digit fraction; times are
	// written in UTC, so every value has the same length.
	atLayout = "2006-01-02T15:04:05.000000000Z07:00"
)

// Reserve records n unless its id is taken, and returns what is stored. See
// Dynamo for the order of the writes.
func (d *Dynamo) Reserve(ctx context.Context, n Notification) (Notification, bool, error) {
	if err := checkReserve(n); err != nil {
		return Notification{}, false, err
	}
	n = normalize(n)
	stored, fresh := n, true
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                encode(n, recordKey(n.ID)),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	switch {
	case dynamotable.ConditionFailed(err):
		fresh = false
		if stored, err = d.record(ctx, n.ID); err != nil {
			return Notification{}, false, fmt.Errorf("reserve notification %s: %w", n.ID, err)
		}
	case err != nil:
		return Notification{}, false, fmt.Errorf("reserve notification %s: put record: %w", n.ID, err)
	}
	// Also when the record was there already: the call that wrote it may
	// have stopped before this step.
	_, err = d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                encode(stored, inboxKey(stored)),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil && !dynamotable.ConditionFailed(err) {
		return Notification{}, false, fmt.Errorf("reserve notification %s: put inbox entry: %w", n.ID, err)
	}
	return stored, fresh, nil
}

// MarkSent records that notification id was sent at at; the record's first
// mark stands. See Dynamo for the order of the writes.
func (d *Dynamo) MarkSent(ctx context.Context, id string, at time.Time) error {
	n, err := d.record(ctx, id)
	if err != nil {
		return fmt.Errorf("mark notification %s sent: %w", id, err)
	}
	if n.SentAt != nil {
		return nil
	}
	at = at.UTC()
	n.SentAt = &at
	// A whole put rather than an update: it also restores an inbox entry
	// that has gone missing, and it writes nothing the record does not say.
	if _, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item:      encode(n, inboxKey(n)),
	}); err != nil {
		return fmt.Errorf("mark notification %s sent: put inbox entry: %w", id, err)
	}
	_, err = d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       recordKey(id),
		UpdateExpression:          aws.String("SET sentAt = if_not_exists(sentAt, :at)"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": dynamotable.S(at.Format(atLayout))},
	})
	if err != nil {
		return fmt.Errorf("mark notification %s sent: update record: %w", id, err)
	}
	return nil
}

// ForUser returns up to limit of the user's notifications, newest first.
func (d *Dynamo) ForUser(ctx context.Context, userID string, limit int) ([]Notification, error) {
	if limit < 1 {
		return nil, fmt.Errorf("notifications of user %s: limit %d: %w", userID, limit, ErrInvalid)
	}
	// A page ends at limit items or at 1 MB, whichever comes first, so a
	// page may be short without the partition being exhausted.
	pages := dynamodb.NewQueryPaginator(d.api, &dynamodb.QueryInput{
		TableName:                 aws.String(d.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamotable.S(inboxKeyPrefix + userID)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(min(limit, math.MaxInt32))),
	})
	var out []Notification
	for pages.HasMorePages() && len(out) < limit {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("notifications of user %s: query: %w", userID, err)
		}
		for _, item := range page.Items {
			n, err := decode(item)
			if err != nil {
				return nil, fmt.Errorf("notifications of user %s: decode %v: %w", userID, item[skAttr], err)
			}
			out = append(out, n)
		}
	}
	return out[:min(len(out), limit)], nil
}

// record reads the record of notification id, strongly consistent: it is
// read right after a conditional put lost to another writer.
func (d *Dynamo) record(ctx context.Context, id string) (Notification, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            recordKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Notification{}, fmt.Errorf("get record: %w", err)
	}
	if out.Item == nil {
		return Notification{}, ErrNotFound
	}
	n, err := decode(out.Item)
	if err != nil {
		return Notification{}, fmt.Errorf("decode record: %w", err)
	}
	return n, nil
}

func recordKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{pkAttr: dynamotable.S(recordKeyPrefix + id), skAttr: dynamotable.S(recordSortKey)}
}

func inboxKey(n Notification) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		pkAttr: dynamotable.S(inboxKeyPrefix + n.UserID),
		skAttr: dynamotable.S(n.At.UTC().Format(atLayout) + "#" + n.ID),
	}
}

// encode is n as an item with key. Empty strings and a nil SentAt are left
// out rather than stored empty.
func encode(n Notification, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"id":     dynamotable.S(n.ID),
		"userId": dynamotable.S(n.UserID),
		"at":     dynamotable.S(n.At.UTC().Format(atLayout)),
	}
	for name, v := range map[string]string{"itemId": n.ItemID, "kind": string(n.Kind), "message": n.Message, "email": n.Email} {
		if v != "" {
			item[name] = dynamotable.S(v)
		}
	}
	if n.SentAt != nil {
		item["sentAt"] = dynamotable.S(n.SentAt.UTC().Format(atLayout))
	}
	for k, v := range key {
		item[k] = v
	}
	return item
}

func decode(item map[string]types.AttributeValue) (Notification, error) {
	var (
		n    Notification
		errs []error
		get  = func(name string) string {
			v, err := dynamotable.Str(item, name)
			errs = append(errs, err)
			return v
		}
		parse = func(name string) (time.Time, bool) {
			v := get(name)
			if v == "" {
				return time.Time{}, false
			}
			t, err := time.Parse(time.RFC3339Nano, v)
			errs = append(errs, err)
			return t, err == nil
		}
	)
	n.ID = get("id")
	n.UserID = get("userId")
	n.ItemID = get("itemId")
	n.Kind = schemas.NotificationKind(get("kind"))
	n.Message = get("message")
	n.Email = get("email")
	n.At, _ = parse("at")
	if at, ok := parse("sentAt"); ok {
		n.SentAt = &at
	}
	return n, errors.Join(errs...)
}

// EnsureTable creates table for Dynamo if it does not exist (hash key "pk"
// and range key "sk", both strings, on-demand capacity) and waits until it
// is ACTIVE. It describes before it creates, so a function whose role may
// only describe tables can still call it against a table made by
// infrastructure code. A table with other keys is an error.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	return dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: pkAttr, Range: skAttr})
}

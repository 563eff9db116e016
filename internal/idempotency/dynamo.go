package idempotency

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// DynamoAPI is the part of the DynamoDB client that Dynamo uses.
// *dynamodb.Client satisfies it.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// TableAPI is the part of the DynamoDB client that EnsureTable uses: the
// table, and its time to live.
type TableAPI interface {
	dynamotable.TableAPI
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

const (
	pkAttr      = "pk"        // the key
	fpAttr      = "fp"        // the request's fingerprint (binary)
	untilAttr   = "until"     // when the claim or answer expires, Unix milliseconds
	expiresAttr = "expiresAt" // the same in Unix seconds: the table's TTL attribute
	statusAttr  = "status"    // the answer's status; absent on a claim
	headerAttr  = "header"    // the answer's header as JSON
	bodyAttr    = "body"      // the answer's body (binary); absent when empty
	gzipAttr    = "gzip"      // true when body is gzipped
)

// gzipFrom is the body size from which an answer is stored gzipped: a
// batch's answer (1,000 results) can pass DynamoDB's 400 KB item limit as
// JSON, and is a tenth of it compressed.
const gzipFrom = 16 << 10

// claimAttempts bounds Claim's rounds when the record it lost to vanishes
// (released, or expired) before it can be read.
const claimAttempts = 3

// Dynamo is a Store on one DynamoDB table with a string hash key "pk" (the
// key). A claim and its answer are one item; every write is conditional, so
// of two gateways racing for one key exactly one claims it:
//
//   - Claim puts the item if there is none or it has expired ("until" is
//     past), so a lapsed claim or a stale answer never blocks a key, even
//     before DynamoDB's TTL sweep (which can take days) deletes it;
//   - Complete puts the answer over its own claim (same fingerprint), or
//     where the claim has gone; it never overwrites another request's;
//   - Release deletes its own claim, never an answer.
//
// Keys must be valid UTF-8 of at most 2 KB (DynamoDB's limit for a hash key).
type Dynamo struct {
	api    DynamoAPI
	table  string
	limits Limits
	now    func() time.Time
}

var _ Store = (*Dynamo)(nil)

// NewDynamo returns a Store on table; now is the clock (nil: time.Now).
func NewDynamo(api DynamoAPI, table string, l Limits, now func() time.Time) *Dynamo {
	if now == nil {
		now = time.Now
	}
	return &Dynamo{api: api, table: table, limits: l, now: now}
}

// EnsureTable creates table if it does not exist and turns on its time to
// live on "expiresAt", so DynamoDB deletes expired keys by itself. A server
// without time to live (dynalite) keeps them; Claim ignores them all the same.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	if err := dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: pkAttr}); err != nil {
		return err
	}
	ttl, err := api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("describe time to live of %s: %w", table, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		return nil // enabled, or on its way
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(expiresAttr), Enabled: aws.Bool(true)},
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownOperationException" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enable time to live on %s: %w", table, err)
	}
	return nil
}

// Claim implements Store.
func (d *Dynamo) Claim(ctx context.Context, key string, fp []byte) (Record, bool, error) {
	for range claimAttempts {
		now := d.now()
		item := d.item(key, fp, now.Add(d.limits.Lease))
		_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(d.table),
			Item:                      item,
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #until <= :now"),
			ExpressionAttributeNames:  map[string]string{"#pk": pkAttr, "#until": untilAttr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": millis(now)},
		})
		if err == nil {
			return Record{}, true, nil
		}
		if !dynamotable.ConditionFailed(err) {
			return Record{}, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		rec, live, err := d.get(ctx, key, now)
		if err != nil || live {
			return rec, false, err
		}
		// Gone or expired since the put: try again.
	}
	return Record{}, false, fmt.Errorf("claim idempotency key: lost the race %d times", claimAttempts)
}

// get reads key's record; live is false if there is none in force.
func (d *Dynamo) get(ctx context.Context, key string, now time.Time) (Record, bool, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(d.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{pkAttr: dynamotable.S(key)},
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	if out.Item == nil {
		return Record{}, false, nil
	}
	rec, until, err := decode(out.Item)
	if err != nil {
		return Record{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	return rec, now.UnixMilli() < until, nil
}

// Complete implements Store.
func (d *Dynamo) Complete(ctx context.Context, key string, fp []byte, a Answer) error {
	header, err := json.Marshal(a.Header)
	if err != nil {
		return fmt.Errorf("record idempotent answer: %w", err)
	}
	item := d.item(key, fp, d.now().Add(d.limits.TTL))
	item[statusAttr] = &types.AttributeValueMemberN{Value: strconv.Itoa(a.Status)}
	item[headerAttr] = dynamotable.S(string(header))
	switch {
	case len(a.Body) >= gzipFrom:
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(a.Body) // a bytes.Buffer does not fail
		_ = zw.Close()
		item[bodyAttr] = &types.AttributeValueMemberB{Value: buf.Bytes()}
		item[gzipAttr] = &types.AttributeValueMemberBOOL{Value: true}
	case len(a.Body) > 0:
		item[bodyAttr] = &types.AttributeValueMemberB{Value: a.Body}
	}
	_, err = d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(d.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #fp = :fp"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr, "#fp": fpAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":fp": &types.AttributeValueMemberB{Value: fp}},
	})
	if err != nil && !dynamotable.ConditionFailed(err) {
		return fmt.Errorf("record idempotent answer: %w", err)
	}
	return nil // or the key moved on to another request after this claim lapsed
}

// Release implements Store.
func (d *Dynamo) Release(ctx context.Context, key string, fp []byte) error {
	_, err := d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{pkAttr: dynamotable.S(key)},
		ConditionExpression:       aws.String("#fp = :fp AND attribute_not_exists(#status)"),
		ExpressionAttributeNames:  map[string]string{"#fp": fpAttr, "#status": statusAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":fp": &types.AttributeValueMemberB{Value: fp}},
	})
	if err != nil && !dynamotable.ConditionFailed(err) {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// item is the attributes every write puts: the key, the fingerprint and
// when the record expires.
func (d *Dynamo) item(key string, fp []byte, until time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		pkAttr:      dynamotable.S(key),
		fpAttr:      &types.AttributeValueMemberB{Value: fp},
		untilAttr:   millis(until),
		expiresAttr: &types.AttributeValueMemberN{Value: strconv.FormatInt(until.Add(time.Second-1).Unix(), 10)},
	}
}

func millis(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// decode reads an item back; until is its expiry in Unix milliseconds.
func decode(item map[string]types.AttributeValue) (rec Record, until int64, err error) {
	fp, ok := item[fpAttr].(*types.AttributeValueMemberB)
	if !ok {
		return Record{}, 0, fmt.Errorf("attribute %s: got %T, want binary", fpAttr, item[fpAttr])
	}
	rec.Fingerprint = bytes.Clone(fp.Value)
	if until, err = number(item, untilAttr); err != nil {
		return Record{}, 0, err
	}
	if _, answered := item[statusAttr]; !answered {
		return rec, until, nil
	}
	status, err := number(item, statusAttr)
	if err != nil {
		return Record{}, 0, err
	}
	a := &Answer{Status: int(status)}
	header, err := dynamotable.Str(item, headerAttr)
	if err != nil {
		return Record{}, 0, err
	}
	if err := json.Unmarshal([]byte(header), &a.Header); err != nil {
		return Record{}, 0, fmt.Errorf("attribute %s: %w", headerAttr, err)
	}
	if b, ok := item[bodyAttr].(*types.AttributeValueMemberB); ok {
		a.Body = b.Value
	}
	if z, ok := item[gzipAttr].(*types.AttributeValueMemberBOOL); ok && z.Value {
		zr, err := gzip.NewReader(bytes.NewReader(a.Body))
		if err != nil {
			return Record{}, 0, fmt.Errorf("attribute %s: %w", bodyAttr, err)
		}
		if a.Body, err = io.ReadAll(zr); err != nil {
			return Record{}, 0, fmt.Errorf("attribute %s: %w", bodyAttr, err)
		}
	}
	rec.Answer = a
	return rec, until, nil
}

func number(item map[string]types.AttributeValue, name string) (int64, error) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s: got %T, want number", name, item[name])
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return v, nil
}

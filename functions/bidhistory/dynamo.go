package bidhistory

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// DynamoAPI is the part of the DynamoDB client that Dynamo uses.
// *dynamodb.Client satisfies it.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// TableAPI is the part of the DynamoDB client that EnsureTable uses.
type TableAPI = dynamotable.TableAPI

const (
	pkAttr    = "pk" // the item
	skAttr    = "sk" // Entry.Key: decision time and bid id
	entryAttr = "entry"
	// writers bounds the puts of one Record call in flight at once.
	writers = 8
)

// Dynamo is a Store on one DynamoDB table with a string hash key "pk" (the
// item) and a string range key "sk" (Entry.Key); "entry" holds the Entry as
// JSON. Record is a conditional put per entry (the first write of a bid
// stays); Page is one Query on the item's partition, newest first.
type Dynamo struct {
	api   DynamoAPI
	table string
}

var _ Store = (*Dynamo)(nil)

// NewDynamo returns a Store on table.
func NewDynamo(api DynamoAPI, table string) *Dynamo { return &Dynamo{api: api, table: table} }

// EnsureTable creates table for Dynamo if it does not exist (hash key "pk"
// and range key "sk", both strings, on-demand capacity) and waits until it
// is ACTIVE. A table with other keys is an error.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	return dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: pkAttr, Range: skAttr})
}

// Record implements Store.
func (d *Dynamo) Record(ctx context.Context, entries []Entry) error {
	items := make([]map[string]types.AttributeValue, len(entries))
	for i, e := range entries {
		raw, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("bid history of %s: encode %s: %w", e.ItemID, e.BidID, err)
		}
		items[i] = map[string]types.AttributeValue{
			pkAttr: dynamotable.S(e.ItemID), skAttr: dynamotable.S(e.Key()), entryAttr: dynamotable.S(string(raw)),
		}
	}
	if err := dynamotable.PutNew(ctx, d.api, d.table, pkAttr, items, writers); err != nil {
		return fmt.Errorf("bid history: %w", err)
	}
	return nil
}

// Page implements Store.
func (d *Dynamo) Page(ctx context.Context, itemID, cursor string, limit int) ([]Entry, string, error) {
	cond := pkAttr + " = :pk"
	values := map[string]types.AttributeValue{":pk": dynamotable.S(itemID)}
	if cursor != "" {
		cond += " AND " + skAttr + " < :before"
		values[":before"] = dynamotable.S(cursor)
	}
	// One more than a page says whether another follows.
	out, err := d.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(d.table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit + 1)),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, "", fmt.Errorf("bid history of %s: query: %w", itemID, err)
	}
	entries := make([]Entry, 0, len(out.Items))
	for _, item := range out.Items {
		raw, err := dynamotable.Str(item, entryAttr)
		if err != nil {
			return nil, "", fmt.Errorf("bid history of %s: %w", itemID, err)
		}
		var e Entry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, "", fmt.Errorf("bid history of %s: decode %v: %w", itemID, item[skAttr], err)
		}
		entries = append(entries, e)
	}
	if len(entries) <= limit {
		return entries, "", nil
	}
	return entries[:limit], entries[limit-1].Key(), nil
}

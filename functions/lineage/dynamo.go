package lineage

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
	pkAttr    = "pk" // the correlation id (the item)
	skAttr    = "sk" // the event id
	entryAttr = "entry"
	// writers bounds the puts of one Record call in flight at once.
	writers = 8
)

// Dynamo is a Store on one DynamoDB table with a string hash key "pk" (the
// correlation id) and a string range key "sk" (the event id); "entry" holds
// the Entry as JSON. Record is a conditional put per entry, so the first
// write of an event id wins; Chain is one Query on the item's partition.
type Dynamo struct {
	api   DynamoAPI
	table string
}

// NewDynamo returns a Store on table.
func NewDynamo(api DynamoAPI, table string) *Dynamo { return &Dynamo{api: api, table: table} }

// Record implements Store.
func (d *Dynamo) Record(ctx context.Context, entries []Entry) error {
	items := make([]map[string]types.AttributeValue, len(entries))
	for i, e := range entries {
		raw, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("lineage of %s: encode %s: %w", e.CorrelationID, e.ID, err)
		}
		items[i] = map[string]types.AttributeValue{
			pkAttr: dynamotable.S(e.CorrelationID), skAttr: dynamotable.S(e.ID), entryAttr: dynamotable.S(string(raw)),
		}
	}
	if err := dynamotable.PutNew(ctx, d.api, d.table, pkAttr, items, writers); err != nil {
		return fmt.Errorf("lineage: %w", err)
	}
	return nil
}

// Chain implements Store.
func (d *Dynamo) Chain(ctx context.Context, correlationID string) ([]Entry, error) {
	pages := dynamodb.NewQueryPaginator(d.api, &dynamodb.QueryInput{
		TableName:                 aws.String(d.table),
		KeyConditionExpression:    aws.String(pkAttr + " = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamotable.S(correlationID)},
		ConsistentRead:            aws.Bool(true),
	})
	var out []Entry
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("lineage of %s: query: %w", correlationID, err)
		}
		for _, item := range page.Items {
			raw, err := dynamotable.Str(item, entryAttr)
			if err != nil {
				return nil, fmt.Errorf("lineage of %s: %w", correlationID, err)
			}
			var e Entry
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				return nil, fmt.Errorf("lineage of %s: decode %v: %w", correlationID, item[skAttr], err)
			}
			out = append(out, e)
		}
	}
	Order(out)
	return out, nil
}

// EnsureTable creates table for Dynamo if it does not exist (hash key "pk"
// and range key "sk", both strings, on-demand capacity) and waits until it
// is ACTIVE. A table with other keys is an error.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	return dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: pkAttr, Range: skAttr})
}

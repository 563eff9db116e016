package itemdir

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/internal/dynamotable"
)

// DynamoAPI is the part of the DynamoDB client that Dynamo uses.
// *dynamodb.Client satisfies it.
type DynamoAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// TableAPI is the part of the DynamoDB client that EnsureTable uses.
type TableAPI = dynamotable.TableAPI

const (
	pkAttr       = "pk" // the item
	sellerAttr   = "sellerId"
	currencyAttr = "currency"
	endsAtAttr   = "endsAt" // RFC 3339, UTC
	closedAttr   = "closed"
)

// Dynamo is a Store on one DynamoDB table with a string hash key "pk" (the
// item). Each change is one UpdateItem that sets its own attributes, so a
// placement and a close land on the same entry in either order.
type Dynamo struct {
	api   DynamoAPI
	table string
}

var _ Store = (*Dynamo)(nil)

// NewDynamo returns a Store on table.
func NewDynamo(api DynamoAPI, table string) *Dynamo { return &Dynamo{api: api, table: table} }

// EnsureTable creates table for Dynamo if it does not exist (hash key "pk",
// a string, on-demand capacity) and waits until it is ACTIVE. A table with
// another key is an error.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	return dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: pkAttr})
}

// Record implements Store.
func (d *Dynamo) Record(ctx context.Context, changes []Change) error {
	for _, c := range changes {
		var sets []string
		values := map[string]types.AttributeValue{}
		if p := c.Placed; p != nil {
			sets = append(sets, sellerAttr+" = :seller", currencyAttr+" = :currency", endsAtAttr+" = :endsAt")
			values[":seller"], values[":currency"] = dynamotable.S(p.SellerID), dynamotable.S(p.Currency)
			values[":endsAt"] = dynamotable.S(p.EndsAt.UTC().Format(time.RFC3339Nano))
		}
		if c.Closed {
			sets = append(sets, closedAttr+" = :closed")
			values[":closed"] = &types.AttributeValueMemberBOOL{Value: true}
		}
		if len(sets) == 0 {
			continue
		}
		if _, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(d.table),
			Key:                       map[string]types.AttributeValue{pkAttr: dynamotable.S(c.ItemID)},
			UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
			ExpressionAttributeValues: values,
		}); err != nil {
			return fmt.Errorf("item directory: record %s: %w", c.ItemID, err)
		}
	}
	return nil
}

// Item implements Store. It reads consistently: a change recorded is seen.
func (d *Dynamo) Item(ctx context.Context, itemID string) (placebid.Item, bool, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{pkAttr: dynamotable.S(itemID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return placebid.Item{}, false, fmt.Errorf("item directory: get %s: %w", itemID, err)
	}
	if _, placed := out.Item[sellerAttr]; !placed {
		return placebid.Item{}, false, nil
	}
	var it placebid.Item
	if it.SellerID, err = dynamotable.Str(out.Item, sellerAttr); err == nil {
		if it.Currency, err = dynamotable.Str(out.Item, currencyAttr); err == nil {
			var end string
			if end, err = dynamotable.Str(out.Item, endsAtAttr); err == nil {
				it.EndsAt, err = time.Parse(time.RFC3339Nano, end)
			}
		}
	}
	if err != nil {
		return placebid.Item{}, false, fmt.Errorf("item directory: %s: %w", itemID, err)
	}
	if b, ok := out.Item[closedAttr].(*types.AttributeValueMemberBOOL); ok {
		it.Closed = b.Value
	}
	return it, true, nil
}

package analytics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// DynamoAPI is the part of the DynamoDB client that Dynamo uses, declared by
// its consumer so tests can wrap a real client to inject faults.
// *dynamodb.Client satisfies it. There is no TransactWriteItems here on
// purpose: see the package doc.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// TableAPI is the part of the DynamoDB client that EnsureTable uses; serving
// never needs it, and a production role may not be allowed it.
type TableAPI = dynamotable.TableAPI

// Dynamo is a Store on one DynamoDB table with a string hash key "pk" and a
// string range key "sk". The items and the order Apply writes them in are
// described in the package doc.
type Dynamo struct {
	api   DynamoAPI
	table string
}

var _ Store = (*Dynamo)(nil)

// NewDynamo returns a Store on table, which must exist with the keys
// EnsureTable creates.
func NewDynamo(api DynamoAPI, table string) *Dynamo {
	return &Dynamo{api: api, table: table}
}

const (
	pkAttr = "pk"
	skAttr = "sk"

	claimPrefix = "item#"
	claimSK     = "claim"
	factPrefix  = "fact#"
	aggPrefix   = "agg#"
	scopeAll    = "all"
	// scopeCategoryPrefix keeps a category named "all" apart from the
	// overall scope.
	scopeCategoryPrefix = "cat#"

	// Bucket attributes. The per-currency ones are top-level attributes
	// named "<prefix><code>", not entries of a map: ADD on a path inside a
	// map fails while the map does not exist, and one update expression
	// cannot both create the map and add to it.
	attrCompleted = "completed"
	attrSold      = "sold"
	attrBids      = "bids"
	attrApplied   = "applied"
	attrBidders   = "bidders"
	volPrefix     = "vol:"
	cntPrefix     = "cnt:"
	maxPrefix     = "max:"

	// keyTimeLayout is fixed-width (nanoseconds always printed) so that keys
	// sort as their instants do. time.RFC3339Nano drops trailing zeros, and
	// "…:00Z" sorts after "…:00.5Z".
	keyTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"
	dayLayout     = "2006-01-02"
)

func keyTime(t time.Time) string { return t.UTC().Format(keyTimeLayout) }

func dayKey(t time.Time) string { return t.UTC().Format(dayLayout) }

func categoryScope(category string) string { return scopeCategoryPrefix + category }

// Apply writes fact and counts it in its day buckets, each step guarded so
// that repeating it (a redelivery, or a concurrent Apply of the same fact)
// changes nothing. It never stops early because a step was done before: a
// redelivery after a crash must finish the steps the crash skipped.
func (d *Dynamo) Apply(ctx context.Context, fact Fact) error {
	if err := fact.Validate(); err != nil {
		return err
	}
	fact = fact.normalize()
	if err := d.claim(ctx, fact); err != nil {
		return err
	}
	if err := d.putFact(ctx, fact); err != nil {
		return fmt.Errorf("put fact of item %s: %w", fact.ItemID, err)
	}
	for _, scope := range []string{scopeAll, categoryScope(fact.Category)} {
		if err := d.count(ctx, scope, fact); err != nil {
			return fmt.Errorf("count item %s in %s: %w", fact.ItemID, scope, err)
		}
		if fact.Sold {
			if err := d.raiseMax(ctx, scope, fact); err != nil {
				return fmt.Errorf("max price of item %s in %s: %w", fact.ItemID, scope, err)
			}
		}
	}
	return nil
}

// claim records which category and end time the item is counted under, or
// checks that an earlier claim agrees. The fact and bucket keys hold both, so
// without the claim an item redelivered with another category would land in
// other buckets, whose applied sets do not know it.
func (d *Dynamo) claim(ctx context.Context, f Fact) error {
	key := map[string]types.AttributeValue{pkAttr: dynamotable.S(claimPrefix + f.ItemID), skAttr: dynamotable.S(claimSK)}
	item := map[string]types.AttributeValue{
		pkAttr: key[pkAttr], skAttr: key[skAttr],
		"category": dynamotable.S(f.Category),
		"endsAt":   dynamotable.S(keyTime(f.EndsAt)),
	}
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(d.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": pkAttr},
	})
	if err == nil {
		return nil
	}
	if !dynamotable.ConditionFailed(err) {
		return fmt.Errorf("claim item %s: %w", f.ItemID, err)
	}
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("read claim of item %s: %w", f.ItemID, err)
	}
	if out.Item == nil {
		// Claims are never deleted, so this is someone else's doing.
		return fmt.Errorf("read claim of item %s: vanished after the put found it", f.ItemID)
	}
	category, err1 := dynamotable.Str(out.Item, "category")
	ends, err2 := dynamotable.Str(out.Item, "endsAt")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("decode claim of item %s: %w", f.ItemID, err)
	}
	if category != f.Category || ends != keyTime(f.EndsAt) {
		endsAt, _ := time.Parse(keyTimeLayout, ends)
		return conflictError(category, endsAt, f)
	}
	return nil
}

// putFact stores the fact under its category, sorted by end time, unless it
// is there already.
func (d *Dynamo) putFact(ctx context.Context, f Fact) error {
	item := map[string]types.AttributeValue{
		pkAttr:       dynamotable.S(factPrefix + f.Category),
		skAttr:       dynamotable.S(keyTime(f.EndsAt) + "#" + f.ItemID),
		"itemId":     dynamotable.S(f.ItemID),
		"category":   dynamotable.S(f.Category),
		"sellerId":   dynamotable.S(f.SellerID),
		"sold":       &types.AttributeValueMemberBOOL{Value: f.Sold},
		"reserveMet": &types.AttributeValueMemberBOOL{Value: f.ReserveMet},
		"bidCount":   n(int64(f.BidCount)),
		"endsAt":     dynamotable.S(keyTime(f.EndsAt)),
		"closedAt":   dynamotable.S(keyTime(f.ClosedAt)),
	}
	if f.Sold {
		item["winnerId"] = dynamotable.S(f.WinnerID)
		item["price"] = n(f.Price.Amount)
		item["currency"] = dynamotable.S(f.Price.Currency)
	}
	// DynamoDB has no empty sets: no bidders is no attribute.
	if len(f.Bidders) > 0 {
		item[attrBidders] = &types.AttributeValueMemberSS{Value: f.Bidders}
	}
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(d.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": pkAttr},
	})
	if dynamotable.ConditionFailed(err) {
		return nil // stored by an earlier delivery
	}
	return err
}

// count adds f to the scope's bucket for its day, in one conditional update:
// the counters and the item id in the applied set change together or not at
// all, so f is counted exactly once however often it comes.
func (d *Dynamo) count(ctx context.Context, scope string, f Fact) error {
	names := map[string]string{
		"#completed": attrCompleted,
		"#bids":      attrBids,
		"#applied":   attrApplied,
	}
	values := map[string]types.AttributeValue{
		":id":   dynamotable.S(f.ItemID),
		":ids":  &types.AttributeValueMemberSS{Value: []string{f.ItemID}},
		":one":  n(1),
		":bids": n(int64(f.BidCount)),
	}
	adds := []string{"#completed :one", "#bids :bids", "#applied :ids"}
	if f.Sold {
		names["#sold"] = attrSold
		names["#vol"] = volPrefix + f.Price.Currency
		names["#cnt"] = cntPrefix + f.Price.Currency
		values[":price"] = n(f.Price.Amount)
		adds = append(adds, "#sold :one", "#vol :price", "#cnt :one")
	}
	if len(f.Bidders) > 0 {
		names["#bidders"] = attrBidders
		values[":bidders"] = &types.AttributeValueMemberSS{Value: f.Bidders}
		adds = append(adds, "#bidders :bidders")
	}
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       bucketKey(scope, f.EndsAt),
		UpdateExpression:          aws.String("ADD " + strings.Join(adds, ", ")),
		ConditionExpression:       aws.String("NOT contains(#applied, :id)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if dynamotable.ConditionFailed(err) {
		return nil // counted by an earlier delivery
	}
	return err
}

// raiseMax sets the bucket's maximum price in f's currency to f's price if
// that is higher. Setting a maximum is idempotent by nature, so it needs no
// applied set; a failed condition means a price at least as high is there.
func (d *Dynamo) raiseMax(ctx context.Context, scope string, f Fact) error {
	_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       bucketKey(scope, f.EndsAt),
		UpdateExpression:          aws.String("SET #max = :p"),
		ConditionExpression:       aws.String("attribute_not_exists(#max) OR #max < :p"),
		ExpressionAttributeNames:  map[string]string{"#max": maxPrefix + f.Price.Currency},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": n(f.Price.Amount)},
	})
	if dynamotable.ConditionFailed(err) {
		return nil
	}
	return err
}

func bucketKey(scope string, endsAt time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{pkAttr: dynamotable.S(aggPrefix + scope), skAttr: dynamotable.S(dayKey(endsAt))}
}

// Summary combines the day buckets of the scope in [from, to).
func (d *Dynamo) Summary(ctx context.Context, category string, from, to time.Time) (Summary, error) {
	if err := checkSummaryPeriod(from, to); err != nil {
		return Summary{}, fmt.Errorf("summary: %w", err)
	}
	scope := scopeAll
	if category != "" {
		scope = categoryScope(category)
	}
	t := newTally()
	if empty(from, to) {
		return t.summary(category, from, to), nil
	}
	// Day keys sort as dates. to is exclusive and midnight, so the last day
	// wanted is the one before it.
	var lo, hi string
	if !from.IsZero() {
		lo = dayKey(from)
	}
	if !to.IsZero() {
		hi = dayKey(to.Add(-24 * time.Hour))
	}
	err := d.query(ctx, aggPrefix+scope, lo, hi, "", func(item map[string]types.AttributeValue) error {
		return addBucket(t, item)
	})
	if err != nil {
		return Summary{}, fmt.Errorf("summary of %s: %w", scope, err)
	}
	return t.summary(category, from, to), nil
}

// addBucket merges one day bucket into t.
func addBucket(t *tally, item map[string]types.AttributeValue) error {
	var errs []error
	num := func(name string) int64 {
		v, err := number(item, name)
		errs = append(errs, err)
		return v
	}
	t.completed += num(attrCompleted)
	t.sold += num(attrSold)
	t.bids += num(attrBids)
	switch v := item[attrBidders].(type) {
	case *types.AttributeValueMemberSS:
		for _, b := range v.Value {
			t.bidders[b] = struct{}{}
		}
	case nil:
	default:
		errs = append(errs, fmt.Errorf("attribute %s: got %T, want string set", attrBidders, v))
	}
	for name := range item {
		switch {
		case strings.HasPrefix(name, volPrefix):
			t.currency(name[len(volPrefix):]).volume += num(name)
		case strings.HasPrefix(name, cntPrefix):
			t.currency(name[len(cntPrefix):]).sold += num(name)
		case strings.HasPrefix(name, maxPrefix):
			c := t.currency(name[len(maxPrefix):])
			c.max = max(c.max, num(name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		sk, _ := dynamotable.Str(item, skAttr)
		return fmt.Errorf("decode bucket %s: %w", sk, err)
	}
	return nil
}

// Bidders reads the facts of category ending in [from, to), a range of sort
// keys, and returns their distinct bidders.
func (d *Dynamo) Bidders(ctx context.Context, category string, from, to time.Time) ([]string, error) {
	if category == "" {
		return nil, fmt.Errorf("bidders: %w", ErrCategoryRequired)
	}
	if err := checkPeriod(from, to); err != nil {
		return nil, fmt.Errorf("bidders: %w", err)
	}
	out := []string{}
	if empty(from, to) {
		return out, nil
	}
	// Fact keys are "<endsAt>#<itemId>". Every key of an auction ending at
	// from is >= keyTime(from); every key of one ending at to is
	// "keyTime(to)#…", which is > keyTime(to), so BETWEEN's inclusive upper
	// bound still excludes to.
	var lo, hi string
	if !from.IsZero() {
		lo = keyTime(from)
	}
	if !to.IsZero() {
		hi = keyTime(to)
	}
	err := d.query(ctx, factPrefix+category, lo, hi, attrBidders, func(item map[string]types.AttributeValue) error {
		switch v := item[attrBidders].(type) {
		case *types.AttributeValueMemberSS:
			out = append(out, v.Value...)
		case nil:
		default:
			return fmt.Errorf("decode fact: attribute %s: got %T, want string set", attrBidders, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bidders of %s: %w", category, err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// query calls each for every item of partition pk whose sort key is in
// [lo, hi] ("" leaves that side open), following pages. projection, if not
// "", is the one attribute to read.
func (d *Dynamo) query(ctx context.Context, pk, lo, hi, projection string, each func(map[string]types.AttributeValue) error) error {
	names := map[string]string{"#pk": pkAttr}
	values := map[string]types.AttributeValue{":pk": dynamotable.S(pk)}
	cond := "#pk = :pk"
	switch {
	case lo != "" && hi != "":
		cond += " AND #sk BETWEEN :lo AND :hi"
	case lo != "":
		cond += " AND #sk >= :lo"
	case hi != "":
		cond += " AND #sk <= :hi"
	}
	if lo != "" || hi != "" {
		names["#sk"] = skAttr
	}
	if lo != "" {
		values[":lo"] = dynamotable.S(lo)
	}
	if hi != "" {
		values[":hi"] = dynamotable.S(hi)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(d.table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		// A summary read right after the function counted must see it.
		ConsistentRead: aws.Bool(true),
	}
	if projection != "" {
		names["#proj"] = projection
		in.ProjectionExpression = aws.String("#proj")
	}
	for pages := dynamodb.NewQueryPaginator(d.api, in); pages.HasMorePages(); {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// number reads an integer attribute; a missing one is 0.
func number(item map[string]types.AttributeValue, name string) (int64, error) {
	switch v := item[name].(type) {
	case *types.AttributeValueMemberN:
		i, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("attribute %s: %w", name, err)
		}
		return i, nil
	case nil:
		return 0, nil
	default:
		return 0, fmt.Errorf("attribute %s: got %T, want number", name, v)
	}
}

// EnsureTable creates table for Dynamo if it does not exist (string hash key
// "pk", string range key "sk", on-demand capacity) and waits until it is
// ACTIVE. It describes before it creates, so a role that may only describe
// tables can still call it against a table made by infrastructure code. A
// table with other keys is an error.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	return dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: pkAttr, Range: skAttr})
}

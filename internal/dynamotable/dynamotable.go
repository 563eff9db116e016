// Package dynamotable creates and checks the platform's DynamoDB tables, and
// holds the small helpers every DynamoDB adapter of the platform needs: a
// client for AWS or a local endpoint (dynalite, DynamoDB Local), string
// attributes, and telling a failed condition from other errors.
//
// Each adapter (userdir.Dynamo, notify.Dynamo, analytics.Dynamo) keeps its own
// item layout, its EnsureTable, which passes Ensure its table's Key, and the
// doc comments on how it writes without transactions. This package imports
// nothing of the project.
package dynamotable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// TableAPI is the part of the DynamoDB client that Ensure uses. It is
// separate from what the adapters use to serve requests, because serving
// never needs table administration, and in production a role may not be
// allowed it. *dynamodb.Client satisfies it.
type TableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// Key is the primary key of a table. Every key attribute of the platform's
// tables is a string.
type Key struct {
	Hash  string // the hash (partition) key attribute
	Range string // the range (sort) key attribute; "" for none
}

// readyTimeout bounds Ensure when ctx has no earlier deadline. DynamoDB
// usually activates a new on-demand table within seconds.
const readyTimeout = 2 * time.Minute

// Ensure creates table with key if it does not exist (on-demand capacity),
// waits until it is ACTIVE, and checks that its key schema is exactly key.
// It describes before it creates, so a process whose role may only describe
// tables can still call it against a table made by infrastructure code. A
// table with another key schema is one clear error now, rather than a
// ValidationException on the first write.
func Ensure(ctx context.Context, api TableAPI, table string, key Key) error {
	in := &dynamodb.DescribeTableInput{TableName: aws.String(table)}
	_, err := api.DescribeTable(ctx, in)
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if err := create(ctx, api, table, key); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("describe table %s: %w", table, err)
	}
	// The SDK's waiter polls until the table is ACTIVE, also while a table
	// just created is not yet described. Its default first wait is 20 s;
	// dynalite and DynamoDB Local take milliseconds, so it starts fast and
	// backs off towards a rate that does not eat into DescribeTable quotas
	// while a real table is created.
	out, err := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 25*time.Millisecond, time.Second
	}).WaitForOutput(ctx, in, readyTimeout)
	if err != nil {
		return fmt.Errorf("wait for table %s to be active: %w", table, err)
	}
	return checkKeySchema(table, out.Table.KeySchema, key)
}

func create(ctx context.Context, api TableAPI, table string, key Key) error {
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(key.Hash), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(key.Hash), KeyType: types.KeyTypeHash},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
	if key.Range != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: aws.String(key.Range), AttributeType: types.ScalarAttributeTypeS})
		in.KeySchema = append(in.KeySchema,
			types.KeySchemaElement{AttributeName: aws.String(key.Range), KeyType: types.KeyTypeRange})
	}
	_, err := api.CreateTable(ctx, in)
	// ResourceInUse: created meanwhile, by us (DescribeTable had not caught
	// up) or by another instance; either way the table is on its way.
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	return nil
}

// checkKeySchema reports a schema other than exactly key: the same hash key,
// the same range key or none, and nothing else.
func checkKeySchema(table string, schema []types.KeySchemaElement, key Key) error {
	var hash, rng string
	for _, k := range schema {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	want := 1
	if key.Range != "" {
		want = 2
	}
	if len(schema) == want && hash == key.Hash && rng == key.Range {
		return nil
	}
	var got []string
	for _, k := range schema {
		got = append(got, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	if key.Range == "" {
		return fmt.Errorf("table %s: key schema %v, want only hash key %q", table, got, key.Hash)
	}
	return fmt.Errorf("table %s: key schema %v, want hash key %q and range key %q", table, got, key.Hash, key.Range)
}

// ConditionFailed reports whether err is a failed ConditionExpression: for
// the adapters, which guard their writes with conditions, usually "done
// before" rather than a failure.
func ConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// S is v as a string attribute.
func S(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// Str reads the string attribute name of item; a missing one is "". An
// attribute of another type is an error that names it.
func Str(item map[string]types.AttributeValue, name string) (string, error) {
	switch v := item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value, nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("attribute %s: got %T, want string", name, v)
	}
}

// NewClient returns a DynamoDB client. With an endpoint (dynalite, DynamoDB
// Local) it signs with the static credentials "local"/"local", which those
// servers accept, so no AWS profile is needed on a laptop or in CI. Without
// one it uses the default AWS chain (environment, shared config, SSO,
// instance or task role). region overrides the configured region; with an
// endpoint and no region anywhere, "us-east-1" is used, since requests must
// be signed for some region.
func NewClient(ctx context.Context, endpoint, region string) (*dynamodb.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if endpoint != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if endpoint != "" && cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// PutAPI is the part of the DynamoDB client that PutNew uses.
type PutAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// PutNew puts items into table, at most limit at once, each only if no
// item has its key yet (attribute_not_exists of the hash key hash): the
// first write of a key stays, and finding it there is no error. This is how
// a read model kept from a log writes events that may be delivered again.
func PutNew(ctx context.Context, api PutAPI, table, hash string, items []map[string]types.AttributeValue, limit int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, item := range items {
		g.Go(func() error {
			_, err := api.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(table), Item: item,
				ConditionExpression:      aws.String("attribute_not_exists(#h)"),
				ExpressionAttributeNames: map[string]string{"#h": hash},
			})
			if err != nil && !ConditionFailed(err) {
				return fmt.Errorf("put into %s: %w", table, err)
			}
			return nil
		})
	}
	return g.Wait()
}

package dynamotable_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// The adapters' tests run Ensure through their EnsureTable against dynalite.
// These cover, without a server, what dynalite does not make happen: a
// CreateTable that loses a race, a table that stays CREATING for a while, and
// each way a key schema can be wrong.

// fakeTables is a TableAPI with at most one table.
type fakeTables struct {
	mu sync.Mutex
	// schema is the table's key schema; nil while it does not exist.
	schema []types.KeySchemaElement
	// creating counts the DescribeTable calls that still see it CREATING.
	creating int
	// inUse makes CreateTable fail as if another instance had just created
	// the table (with created as its schema).
	inUse   bool
	created []types.KeySchemaElement
	// describeErr fails every DescribeTable.
	describeErr error

	creates  []*dynamodb.CreateTableInput
	describe int
}

func (f *fakeTables) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describe++
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	if f.schema == nil {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no table " + aws.ToString(in.TableName))}
	}
	status := types.TableStatusActive
	if f.creating > 0 {
		f.creating--
		status = types.TableStatusCreating
	}
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{
		TableName: in.TableName, TableStatus: status, KeySchema: f.schema,
	}}, nil
}

func (f *fakeTables) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, in)
	if f.inUse {
		f.schema = f.created
		return nil, &types.ResourceInUseException{Message: aws.String("table exists")}
	}
	f.schema = in.KeySchema
	f.creating = 2
	return &dynamodb.CreateTableOutput{}, nil
}

func schema(hash, rng string) []types.KeySchemaElement {
	s := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	if rng != "" {
		s = append(s, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	return s
}

func TestEnsureCreates(t *testing.T) {
	for _, key := range []dynamotable.Key{{Hash: "pk"}, {Hash: "pk", Range: "sk"}} {
		t.Run(key.Hash+"/"+key.Range, func(t *testing.T) {
			api := &fakeTables{}
			if err := dynamotable.Ensure(t.Context(), api, "t1", key); err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if len(api.creates) != 1 {
				t.Fatalf("CreateTable calls: got %d, want 1", len(api.creates))
			}
			in := api.creates[0]
			if got := aws.ToString(in.TableName); got != "t1" {
				t.Errorf("TableName: got %q, want t1", got)
			}
			if in.BillingMode != types.BillingModePayPerRequest {
				t.Errorf("BillingMode: got %q, want %q", in.BillingMode, types.BillingModePayPerRequest)
			}
			if want := schema(key.Hash, key.Range); !reflect.DeepEqual(in.KeySchema, want) {
				t.Errorf("KeySchema: got %v, want %v", in.KeySchema, want)
			}
			if len(in.AttributeDefinitions) != len(in.KeySchema) {
				t.Fatalf("AttributeDefinitions: got %d, want one a key attribute", len(in.AttributeDefinitions))
			}
			for i, d := range in.AttributeDefinitions {
				if aws.ToString(d.AttributeName) != aws.ToString(in.KeySchema[i].AttributeName) || d.AttributeType != types.ScalarAttributeTypeS {
					t.Errorf("AttributeDefinitions[%d]: got %s %s, want %s S", i, aws.ToString(d.AttributeName), d.AttributeType, aws.ToString(in.KeySchema[i].AttributeName))
				}
			}
			// It waited through CREATING for ACTIVE.
			if api.creating != 0 {
				t.Errorf("Ensure returned while DescribeTable still said CREATING")
			}
			if err := dynamotable.Ensure(t.Context(), api, "t1", key); err != nil {
				t.Errorf("Ensure again: %v", err)
			}
			if len(api.creates) != 1 {
				t.Errorf("CreateTable calls after a second Ensure: got %d, want still 1", len(api.creates))
			}
		})
	}
}

// TestEnsureResourceInUse: a CreateTable that loses to another creator is
// success, and the winner's table is still checked.
func TestEnsureResourceInUse(t *testing.T) {
	key := dynamotable.Key{Hash: "pk", Range: "sk"}
	api := &fakeTables{inUse: true, created: schema("pk", "sk")}
	if err := dynamotable.Ensure(t.Context(), api, "t1", key); err != nil {
		t.Errorf("Ensure when another instance created the table: %v", err)
	}

	api = &fakeTables{inUse: true, created: schema("id", "")}
	if err := dynamotable.Ensure(t.Context(), api, "t1", key); err == nil || !strings.Contains(err.Error(), "key schema") {
		t.Errorf("Ensure when another instance created a table keyed by id: got %v, want a key schema error", err)
	}
}

func TestEnsureKeySchema(t *testing.T) {
	tests := []struct {
		name   string
		key    dynamotable.Key
		schema []types.KeySchemaElement
		want   string // "" for no error, else in the error
	}{
		{"hash", dynamotable.Key{Hash: "pk"}, schema("pk", ""), ""},
		{"hash and range", dynamotable.Key{Hash: "pk", Range: "sk"}, schema("pk", "sk"), ""},
		{"other hash", dynamotable.Key{Hash: "pk"}, schema("id", ""), `key schema [id HASH], want only hash key "pk"`},
		{"extra range", dynamotable.Key{Hash: "pk"}, schema("pk", "sk"), `key schema [pk HASH sk RANGE], want only hash key "pk"`},
		{"missing range", dynamotable.Key{Hash: "pk", Range: "sk"}, schema("pk", ""), `key schema [pk HASH], want hash key "pk" and range key "sk"`},
		{"other range", dynamotable.Key{Hash: "pk", Range: "sk"}, schema("pk", "at"), `key schema [pk HASH at RANGE], want hash key "pk" and range key "sk"`},
		{"swapped", dynamotable.Key{Hash: "pk", Range: "sk"}, schema("sk", "pk"), "key schema"},
		{"range only", dynamotable.Key{Hash: "pk"}, []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeRange}}, "key schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dynamotable.Ensure(t.Context(), &fakeTables{schema: tt.schema}, "t1", tt.key)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Ensure: got %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "table t1")):
				t.Errorf("Ensure: got %v, want an error naming table t1 with %q", err, tt.want)
			}
		})
	}
}

func TestEnsureErrors(t *testing.T) {
	errBroken := errors.New("broken")
	if err := dynamotable.Ensure(t.Context(), &fakeTables{describeErr: errBroken}, "t1", dynamotable.Key{Hash: "pk"}); !errors.Is(err, errBroken) {
		t.Errorf("Ensure with DescribeTable failing: got %v, want %v", err, errBroken)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	api := &fakeTables{schema: schema("pk", ""), creating: 1 << 30}
	if err := dynamotable.Ensure(ctx, api, "t1", dynamotable.Key{Hash: "pk"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Ensure on a table that stays CREATING, context ended: got %v, want %v", err, context.Canceled)
	}
}

func TestConditionFailed(t *testing.T) {
	ccf := &types.ConditionalCheckFailedException{Message: aws.String("no")}
	if !dynamotable.ConditionFailed(ccf) {
		t.Errorf("ConditionFailed(%v): got false, want true", ccf)
	}
	if wrapped := errors.Join(errors.New("put"), ccf); !dynamotable.ConditionFailed(wrapped) {
		t.Errorf("ConditionFailed(%v): got false, want true", wrapped)
	}
	for _, err := range []error{nil, errors.New("other"), &types.ResourceNotFoundException{}} {
		if dynamotable.ConditionFailed(err) {
			t.Errorf("ConditionFailed(%v): got true, want false", err)
		}
	}
}

func TestStr(t *testing.T) {
	item := map[string]types.AttributeValue{
		"name": dynamotable.S("Ada"),
		"age":  &types.AttributeValueMemberN{Value: "36"},
	}
	if got, err := dynamotable.Str(item, "name"); got != "Ada" || err != nil {
		t.Errorf(`Str(name): got %q, %v; want "Ada", nil`, got, err)
	}
	if got, err := dynamotable.Str(item, "missing"); got != "" || err != nil {
		t.Errorf(`Str(missing): got %q, %v; want "", nil`, got, err)
	}
	if _, err := dynamotable.Str(item, "age"); err == nil || !strings.Contains(err.Error(), "age") {
		t.Errorf("Str(age), a number: got %v, want an error naming the attribute", err)
	}
}

// TestNewClientLocal: with an endpoint, the client needs no AWS
// configuration at all.
func TestNewClientLocal(t *testing.T) {
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(env, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")

	client, err := dynamotable.NewClient(t.Context(), "http://127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	o := client.Options()
	if got, want := aws.ToString(o.BaseEndpoint), "http://127.0.0.1:1"; got != want {
		t.Errorf("BaseEndpoint: got %q, want %q", got, want)
	}
	if got, want := o.Region, "us-east-1"; got != want {
		t.Errorf("Region: got %q, want %q", got, want)
	}
	creds, err := o.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "local" || creds.SecretAccessKey != "local" {
		t.Errorf("credentials: got %q/%q, want local/local", creds.AccessKeyID, creds.SecretAccessKey)
	}
}

package userdir_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/userdir"
)

// The contract (contract_test.go) covers what every Directory does. These
// tests cover what only Dynamo has: the two-step Create and its failure
// paths, which need faults injected between the steps, and the table setup.

// newTable creates an empty table for t and deletes it when t ends.
func newTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	return dynamotest.NewTable(t, client, userdir.EnsureTable)
}

// faultyAPI passes calls to a real DynamoDB, except the ones a test breaks.
type faultyAPI struct {
	userdir.DynamoAPI
	// beforeUserPut runs before a put of a user item; an error fails the put.
	beforeUserPut func(ctx context.Context) error
	// deleteErr fails every DeleteItem, as a crash before the compensation would.
	deleteErr error
}

func (f *faultyAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if pk, _ := in.Item["pk"].(*types.AttributeValueMemberS); f.beforeUserPut != nil && pk != nil && strings.HasPrefix(pk.Value, "user#") {
		if err := f.beforeUserPut(ctx); err != nil {
			return nil, err
		}
	}
	return f.DynamoAPI.PutItem(ctx, in, opts...)
}

func (f *faultyAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	return f.DynamoAPI.DeleteItem(ctx, in, opts...)
}

var errInjected = errors.New("injected fault")

func testUser(id, email string) userdir.User {
	return userdir.User{
		ID:           id,
		Name:         "Name of " + id,
		Email:        email,
		PasswordHash: []byte("hash of " + id),
		Address:      userdir.Address{Line1: "1 Main St", City: "York", Postcode: "YO1 7HH", Country: "GB"},
		CreatedAt:    time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
}

// TestDynamoCreateReleasesClaim: when the user write fails, the email claim
// is deleted, so the email can be registered again. The second case is the
// likeliest failure in practice: the caller's context ends between the two
// writes, and the release must still happen.
func TestDynamoCreateReleasesClaim(t *testing.T) {
	client := dynamotest.Client(t)
	tests := []struct {
		name string
		// fault runs just before the user write; cancel ends the
		// caller's context.
		fault   func(cancel context.CancelFunc) error
		wantErr error
	}{
		{
			name:    "user write fails",
			fault:   func(context.CancelFunc) error { return errInjected },
			wantErr: errInjected,
		},
		{
			name:    "context ends before user write",
			fault:   func(cancel context.CancelFunc) error { cancel(); return nil },
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := newTable(t, client)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			faulty := userdir.NewDynamo(&faultyAPI{
				DynamoAPI:     client,
				beforeUserPut: func(context.Context) error { return tt.fault(cancel) },
			}, table)
			dir := userdir.NewDynamo(client, table)

			err := faulty.Create(ctx, testUser("u1", "grace@example.com"))
			if !errors.Is(err, tt.wantErr) || errors.Is(err, userdir.ErrDuplicateEmail) {
				t.Fatalf("Create with fault: got %v, want %v", err, tt.wantErr)
			}
			if _, err := dir.ByEmail(t.Context(), "grace@example.com"); !errors.Is(err, userdir.ErrNotFound) {
				t.Errorf("ByEmail after failed Create: got %v, want %v", err, userdir.ErrNotFound)
			}
			if err := dir.Create(t.Context(), testUser("u2", "Grace@example.com")); err != nil {
				t.Errorf("Create of another user with the released email: got %v, want nil", err)
			}
		})
	}
}

// TestDynamoOrphanedClaim walks the crash window: the user write and the
// compensation both fail, leaving a claim without a user. The email must not
// resolve, must not be given to anyone else, and a retry of the same Create
// must complete the registration.
func TestDynamoOrphanedClaim(t *testing.T) {
	client := dynamotest.Client(t)
	table := newTable(t, client)
	ctx := t.Context()
	crashed := userdir.NewDynamo(&faultyAPI{
		DynamoAPI:     client,
		beforeUserPut: func(context.Context) error { return errInjected },
		deleteErr:     errInjected,
	}, table)
	dir := userdir.NewDynamo(client, table)
	u := testUser("u1", "heidi@example.com")

	if err := crashed.Create(ctx, u); !errors.Is(err, errInjected) {
		t.Fatalf("Create that crashes: got %v, want %v", err, errInjected)
	}
	if got, err := dir.ByEmail(ctx, u.Email); !errors.Is(err, userdir.ErrNotFound) {
		t.Errorf("ByEmail with an orphaned claim: got %+v, %v; want %v", got, err, userdir.ErrNotFound)
	}
	if err := dir.Create(ctx, testUser("u2", u.Email)); !errors.Is(err, userdir.ErrDuplicateEmail) {
		t.Errorf("Create by another id: got %v, want %v", err, userdir.ErrDuplicateEmail)
	}
	if err := dir.Create(ctx, u); err != nil {
		t.Fatalf("retry of the crashed Create: got %v, want nil", err)
	}
	got, err := dir.ByEmail(ctx, u.Email)
	if err != nil {
		t.Fatalf("ByEmail after the retry: %v", err)
	}
	if got.ID != u.ID {
		t.Errorf("ByEmail after the retry: got user %q, want %q", got.ID, u.ID)
	}
	// A later attempt re-takes the existing claim, so when its user write
	// fails it must leave the claim alone: releasing it would free the
	// email of a registered user.
	failing := userdir.NewDynamo(&faultyAPI{
		DynamoAPI:     client,
		beforeUserPut: func(context.Context) error { return errInjected },
	}, table)
	if err := failing.Create(ctx, u); !errors.Is(err, errInjected) {
		t.Errorf("Create again with a failing user write: got %v, want %v", err, errInjected)
	}
	if got, err := dir.ByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
		t.Errorf("ByEmail after the failed repeat: got user %q, %v; want %q", got.ID, err, u.ID)
	}
	if err := dir.Create(ctx, u); !errors.Is(err, userdir.ErrDuplicateEmail) {
		t.Errorf("Create of the registered user again: got %v, want %v", err, userdir.ErrDuplicateEmail)
	}
}

// TestDynamoIDInUse: an id collision is not an email conflict, and the new
// email it tried to claim is released.
func TestDynamoIDInUse(t *testing.T) {
	client := dynamotest.Client(t)
	dir := userdir.NewDynamo(client, newTable(t, client))
	ctx := t.Context()
	if err := dir.Create(ctx, testUser("u1", "ivan@example.com")); err != nil {
		t.Fatal(err)
	}
	err := dir.Create(ctx, testUser("u1", "judy@example.com"))
	if err == nil || errors.Is(err, userdir.ErrDuplicateEmail) {
		t.Fatalf("Create with a taken id: got %v, want an id error", err)
	}
	if err := dir.Create(ctx, testUser("u2", "judy@example.com")); err != nil {
		t.Errorf("Create with the email the collision tried: got %v, want nil", err)
	}
	got, err := dir.Get(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "ivan@example.com" {
		t.Errorf("Get(u1).Email: got %q, want %q", got.Email, "ivan@example.com")
	}
}

// TestDynamoCorruptItem: an item that does not decode is an error, not a
// missing user.
func TestDynamoCorruptItem(t *testing.T) {
	client := dynamotest.Client(t)
	table := newTable(t, client)
	_, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"pk":   &types.AttributeValueMemberS{Value: "user#u1"},
			"id":   &types.AttributeValueMemberS{Value: "u1"},
			"name": &types.AttributeValueMemberN{Value: "42"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = userdir.NewDynamo(client, table).Get(t.Context(), "u1")
	if err == nil || errors.Is(err, userdir.ErrNotFound) {
		t.Errorf("Get of a corrupt item: got %v, want a decode error", err)
	}
}

func TestEnsureTable(t *testing.T) {
	client := dynamotest.Client(t)
	ctx := t.Context()

	t.Run("idempotent", func(t *testing.T) {
		table := newTable(t, client) // creates it
		if err := userdir.EnsureTable(ctx, client, table); err != nil {
			t.Errorf("EnsureTable on an existing table: %v", err)
		}
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Table.TableStatus; got != types.TableStatusActive {
			t.Errorf("status: got %s, want %s", got, types.TableStatusActive)
		}
	})

	t.Run("wrong key schema", func(t *testing.T) {
		table := dynamotest.Table(t)
		_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatal(err)
		}
		dynamotest.DeleteAtCleanup(t, client, table)
		if err := userdir.EnsureTable(ctx, client, table); err == nil || !strings.Contains(err.Error(), "key schema") {
			t.Errorf("EnsureTable on a table keyed by id: got %v, want a key schema error", err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		<-ctx.Done()
		if err := userdir.EnsureTable(ctx, client, dynamotest.Table(t)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("EnsureTable after the deadline: got %v, want %v", err, context.DeadlineExceeded)
		}
	})
}

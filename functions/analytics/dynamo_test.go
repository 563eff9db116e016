package analytics_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/schemas"
)

// The contract (contract_test.go) covers what every Store does. These tests
// cover what only Dynamo has: the steps of Apply and the crash windows
// between them, and the table setup.

// newTable creates an empty table for t and deletes it when t ends.
func newTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	return dynamotest.NewTable(t, client, analytics.EnsureTable)
}

var errInjected = errors.New("injected fault")

// crashingAPI passes calls to a real DynamoDB but fails one write, as a
// process that dies around it would: before the write reaches the table, or
// after it was made but before its answer arrived.
type crashingAPI struct {
	analytics.DynamoAPI
	failWrite int  // index of the write (PutItem or UpdateItem) to fail
	afterward bool // make the write, then report the failure

	mu     sync.Mutex
	writes int
}

func (c *crashingAPI) write(ctx context.Context, do func() error) error {
	c.mu.Lock()
	i := c.writes
	c.writes++
	c.mu.Unlock()
	if i != c.failWrite {
		return do()
	}
	if c.afterward {
		if err := do(); err != nil {
			return err
		}
	}
	return errInjected
}

func (c *crashingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (out *dynamodb.PutItemOutput, err error) {
	err = c.write(ctx, func() error {
		out, err = c.DynamoAPI.PutItem(ctx, in, opts...)
		return err
	})
	return out, err
}

func (c *crashingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (out *dynamodb.UpdateItemOutput, err error) {
	err = c.write(ctx, func() error {
		out, err = c.DynamoAPI.UpdateItem(ctx, in, opts...)
		return err
	})
	return out, err
}

// TestDynamoCrashWindows fails each write of Apply in turn, checks that what
// is visible afterwards is the partial state the package doc describes, and
// that a redelivery repairs it without counting anything twice.
func TestDynamoCrashWindows(t *testing.T) {
	client := dynamotest.Client(t)
	fact := analytics.Fact{
		ItemID: "i1", Category: "books", SellerID: "s1", Sold: true, WinnerID: "bob",
		Price: schemas.Money{Amount: 1500, Currency: "EUR"}, ReserveMet: true, BidCount: 3,
		Bidders: []string{"alice", "bob"}, EndsAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC),
	}
	ref := analytics.NewMemory()
	if err := ref.Apply(t.Context(), fact); err != nil {
		t.Fatal(err)
	}
	// The writes of Apply, in order, for a sold fact.
	steps := []string{"claim", "fact", "count all", "max all", "count category", "max category"}
	for i, step := range steps {
		for _, afterward := range []bool{false, true} {
			name := "before " + step
			if afterward {
				name = "after " + step
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				table := newTable(t, client)
				crashing := analytics.NewDynamo(&crashingAPI{DynamoAPI: client, failWrite: i, afterward: afterward}, table)
				if err := crashing.Apply(ctx, fact); !errors.Is(err, errInjected) {
					t.Fatalf("Apply with write %d failing: got %v, want %v", i, err, errInjected)
				}

				st := analytics.NewDynamo(client, table)
				done := i // writes made
				if afterward {
					done++
				}
				checkPartial(t, st, fact, done)

				// The redelivery, twice for good measure.
				for range 2 {
					if err := st.Apply(ctx, fact); err != nil {
						t.Fatalf("Apply again: %v", err)
					}
				}
				for _, category := range []string{"", "books"} {
					want, err := ref.Summary(ctx, category, time.Time{}, time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					got, err := st.Summary(ctx, category, time.Time{}, time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					if !equalSummary(got, want) {
						t.Errorf("Summary(%q) after the redelivery:\ngot  %+v\nwant %+v", category, got, want)
					}
				}
				checkBidders(t, st, "books", []string{"alice", "bob"})
			})
		}
	}
}

// checkPartial checks what a store shows after the first done writes of
// Apply(fact): the crash windows of the package doc.
func checkPartial(t *testing.T, st analytics.Store, fact analytics.Fact, done int) {
	t.Helper()
	ctx := t.Context()
	wantBidders := []string{}
	if done >= 2 {
		wantBidders = fact.Bidders
	}
	checkBidders(t, st, fact.Category, wantBidders)
	for _, c := range []struct {
		category        string
		counted, maxSet bool
	}{
		{"", done >= 3, done >= 4},
		{fact.Category, done >= 5, done >= 6},
	} {
		s, err := st.Summary(ctx, c.category, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.Completed == 1, c.counted; got != want {
			t.Errorf("Summary(%q) after %d writes: counted %t, want %t (%+v)", c.category, done, got, want, s)
		}
		if got, want := s.ByCurrency["EUR"].Max == fact.Price.Amount, c.maxSet; got != want {
			t.Errorf("Summary(%q) after %d writes: max set %t, want %t (%+v)", c.category, done, got, want, s)
		}
	}
}

func checkBidders(t *testing.T, st analytics.Store, category string, want []string) {
	t.Helper()
	got, err := st.Bidders(t.Context(), category, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Bidders(%q): got %q, want %q", category, got, want)
	}
}

// equalSummary compares summaries, the period's bounds as instants.
func equalSummary(a, b analytics.Summary) bool {
	if !a.From.Equal(b.From) || !a.To.Equal(b.To) {
		return false
	}
	a.From, a.To, b.From, b.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// TestDynamoErrors: failures of DynamoDB are errors, not empty answers.
func TestDynamoErrors(t *testing.T) {
	client := dynamotest.Client(t)
	ctx := t.Context()
	fact := analytics.Fact{ItemID: "i1", Category: "books", BidCount: 0, EndsAt: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)}

	t.Run("missing table", func(t *testing.T) {
		st := analytics.NewDynamo(client, dynamotest.Table(t))
		var missing *types.ResourceNotFoundException
		if err := st.Apply(ctx, fact); !errors.As(err, &missing) {
			t.Errorf("Apply: got %v, want ResourceNotFoundException", err)
		}
		if _, err := st.Summary(ctx, "", time.Time{}, time.Time{}); !errors.As(err, &missing) {
			t.Errorf("Summary: got %v, want ResourceNotFoundException", err)
		}
		if _, err := st.Bidders(ctx, "books", time.Time{}, time.Time{}); !errors.As(err, &missing) {
			t.Errorf("Bidders: got %v, want ResourceNotFoundException", err)
		}
	})

	t.Run("corrupt bucket", func(t *testing.T) {
		table := newTable(t, client)
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"pk":        &types.AttributeValueMemberS{Value: "agg#all"},
				"sk":        &types.AttributeValueMemberS{Value: "2025-03-14"},
				"completed": &types.AttributeValueMemberS{Value: "three"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := analytics.NewDynamo(client, table).Summary(ctx, "", time.Time{}, time.Time{}); err == nil || !strings.Contains(err.Error(), "completed") {
			t.Errorf("Summary over a corrupt bucket: got %v, want a decode error naming the attribute", err)
		}
	})
}

// TestDynamoMatchesMemory applies one random delivery sequence (duplicates,
// concurrency) to both stores and compares every answer.
func TestDynamoMatchesMemory(t *testing.T) {
	client := dynamotest.Client(t)
	facts, deliveries := randomDeliveries(newRand(7), 30)
	mem := analytics.NewMemory()
	dyn := analytics.NewDynamo(client, newTable(t, client))
	for _, st := range []analytics.Store{mem, dyn} {
		applyConcurrently(t, st, deliveries, 4)
	}
	checkAgainstReference(t, dyn, facts, newRand(8))
	checkAgainstReference(t, mem, facts, newRand(8))
}

func TestEnsureTable(t *testing.T) {
	client := dynamotest.Client(t)
	ctx := t.Context()

	t.Run("idempotent", func(t *testing.T) {
		table := newTable(t, client) // creates it
		if err := analytics.EnsureTable(ctx, client, table); err != nil {
			t.Errorf("EnsureTable on an existing table: %v", err)
		}
	})

	t.Run("wrong key schema", func(t *testing.T) {
		table := dynamotest.Table(t)
		_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatal(err)
		}
		dynamotest.DeleteAtCleanup(t, client, table)
		if err := analytics.EnsureTable(ctx, client, table); err == nil || !strings.Contains(err.Error(), "key schema") {
			t.Errorf("EnsureTable on a table keyed by pk only: got %v, want a key schema error", err)
		}
	})
}

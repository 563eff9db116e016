package dynamotest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// deleteTimeout bounds the DeleteTable of DeleteAtCleanup, which runs after
// the test's context has ended.
const deleteTimeout = 10 * time.Second

// Client returns a client for Endpoint(t), made as the platform makes its
// own (dynamotable.NewClient), so it lives as long as t.
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	client, err := dynamotable.NewClient(t.Context(), Endpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// NewTable creates an empty table named for t with ensure, an adapter's
// EnsureTable (users.EnsureTable, say), and deletes it when t ends.
func NewTable(t testing.TB, client *dynamodb.Client, ensure func(context.Context, dynamotable.TableAPI, string) error) string {
	t.Helper()
	table := Table(t)
	if err := ensure(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	DeleteAtCleanup(t, client, table)
	return table
}

// DeleteAtCleanup deletes table when t ends, which matters when
// DYNAMODB_ENDPOINT is a long-lived server. A failure is logged, not fatal.
func DeleteAtCleanup(t testing.TB, client *dynamodb.Client, table string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Logf("delete table %s: %v", table, err)
		}
	})
}

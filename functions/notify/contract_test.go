package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/services/users"
)

// TestOutboxContract runs the one Outbox contract against the fake and the
// real adapter. The dynamo half uses DYNAMODB_ENDPOINT or a dynalite of its
// own (see internal/dynamotest), with a fresh table per subtest.
func TestOutboxContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		notifytest.RunOutboxContract(t, func(*testing.T) notify.Outbox { return notify.NewMemory() })
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamoClient(t)
		notifytest.RunOutboxContract(t, func(t *testing.T) notify.Outbox {
			return notify.NewDynamo(client, newTable(t, client))
		})
	})
}

// dynamoClient returns a client for a DynamoDB endpoint that lives as long as t.
func dynamoClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	client, err := users.NewDynamoClient(t.Context(), dynamotest.Endpoint(t), "")
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// newTable creates an empty outbox table for t and deletes it when t ends,
// which matters when DYNAMODB_ENDPOINT is a long-lived server.
func newTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	table := dynamotest.Table(t)
	if err := notify.EnsureTable(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Logf("delete table %s: %v", table, err)
		}
	})
	return table
}

package notify_test

import (
	"testing"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
	"github.com/auctionflow/auction/internal/dynamotest"
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
		client := dynamotest.Client(t)
		notifytest.RunOutboxContract(t, func(t *testing.T) notify.Outbox {
			return notify.NewDynamo(client, newTable(t, client))
		})
	})
}

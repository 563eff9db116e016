package analytics_test

import (
	"testing"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/analytics/analyticstest"
	"github.com/auctionflow/auction/internal/dynamotest"
)

// TestStoreContract runs the one Store contract against the fake and the real
// adapter. The dynamo half uses DYNAMODB_ENDPOINT or a dynalite of its own
// (see internal/dynamotest), with a fresh table per subtest.
func TestStoreContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		analyticstest.RunStoreContract(t, func(*testing.T) analytics.Store { return analytics.NewMemory() })
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		analyticstest.RunStoreContract(t, func(t *testing.T) analytics.Store {
			return analytics.NewDynamo(client, newTable(t, client))
		})
	})
}

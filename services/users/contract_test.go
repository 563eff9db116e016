package users_test

import (
	"testing"

	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/services/users"
	"github.com/auctionflow/auction/services/users/userstest"
)

// TestDirectoryContract runs the one Directory contract against the fake and
// the real adapter. The dynamo half uses DYNAMODB_ENDPOINT or a dynalite of
// its own (see internal/dynamotest), with a fresh table per subtest.
func TestDirectoryContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		userstest.RunDirectoryContract(t, func(*testing.T) users.Directory { return users.NewMemory() })
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		userstest.RunDirectoryContract(t, func(t *testing.T) users.Directory {
			return users.NewDynamo(client, newTable(t, client))
		})
	})
}

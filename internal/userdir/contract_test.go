package userdir_test

import (
	"testing"

	"github.com/auctionflow/auction/internal/dynamotest"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/internal/userdir/userdirtest"
)

// TestDirectoryContract runs the one Directory contract against the fake and
// the real adapter. The dynamo half uses DYNAMODB_ENDPOINT or a dynalite of
// its own (see internal/dynamotest), with a fresh table per subtest.
func TestDirectoryContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		userdirtest.RunDirectoryContract(t, func(*testing.T) userdir.Directory { return userdir.NewMemory() })
	})
	t.Run("dynamo", func(t *testing.T) {
		t.Parallel()
		client := dynamotest.Client(t)
		userdirtest.RunDirectoryContract(t, func(t *testing.T) userdir.Directory {
			return userdir.NewDynamo(client, newTable(t, client))
		})
	})
}

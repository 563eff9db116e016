package userdirtest

import (
	"testing"

	"github.com/auctionflow/auction/internal/userdir"
)

// Seed creates users in dir, failing t on the first that cannot be.
func Seed(t testing.TB, dir userdir.Directory, users ...userdir.User) {
	t.Helper()
	for _, u := range users {
		if err := dir.Create(t.Context(), u); err != nil {
			t.Fatalf("create user %s: %v", u.ID, err)
		}
	}
}

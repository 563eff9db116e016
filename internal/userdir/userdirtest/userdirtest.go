// Package userdirtest is the contract every userdir.Directory keeps, written once
// and run against each implementation: the in-memory Memory the embedded mode
// and unit tests use, and Dynamo on dynalite or DynamoDB. A behaviour the fake
// has and the real store lacks (or the reverse) fails here rather than in
// production.
package userdirtest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/auctionflow/auction/internal/userdir"
)

// RunDirectoryContract runs the contract as subtests of t. newDir returns an
// empty Directory for one subtest; the subtests run in parallel, so
// directories must not share data (for DynamoDB: one table each).
func RunDirectoryContract(t *testing.T, newDir func(t *testing.T) userdir.Directory) {
	tests := []struct {
		name string
		run  func(t *testing.T, dir userdir.Directory)
	}{
		{"RoundTrip", testRoundTrip},
		{"SparseUser", testSparseUser},
		{"DuplicateEmailIgnoresCase", testDuplicateEmailIgnoresCase},
		{"FailedDuplicateKeepsFirst", testFailedDuplicateKeepsFirst},
		{"CreateTwice", testCreateTwice},
		{"NotFound", testNotFound},
		{"ConcurrentSameEmail", testConcurrentSameEmail},
		{"ManyUsers", testManyUsers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newDir(t))
		})
	}
}

// testRoundTrip: every field comes back from Get and ByEmail, the email in
// its normalized form, and ByEmail ignores case and surrounding spaces.
func testRoundTrip(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	in := userdir.User{
		ID:           "u-ada",
		Name:         "Ada Lovelace",
		Email:        "  Ada.Lovelace@Example.COM ",
		PasswordHash: hash,
		Address: userdir.Address{
			Line1:    "12 St James's Square",
			City:     "London",
			Postcode: "SW1Y 4JH",
			Country:  "GB",
		},
		// Not UTC and with nanoseconds, so a store that keeps only part of
		// the instant, or mangles the zone offset, is caught.
		CreatedAt: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600)),
	}
	if err := dir.Create(ctx, in); err != nil {
		t.Fatalf("Create: %v", err)
	}
	want := in
	want.Email = "ada.lovelace@example.com"

	got, err := dir.Get(ctx, in.ID)
	if err != nil {
		t.Fatalf("Get(%q): %v", in.ID, err)
	}
	checkUser(t, "Get", got, want)
	if err := userdir.CheckPassword(got, "correct horse"); err != nil {
		t.Errorf("CheckPassword on the user from Get: %v", err)
	}

	for _, email := range []string{"ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", " Ada.Lovelace@example.com\t"} {
		got, err := dir.ByEmail(ctx, email)
		if err != nil {
			t.Errorf("ByEmail(%q): %v", email, err)
			continue
		}
		checkUser(t, fmt.Sprintf("ByEmail(%q)", email), got, want)
	}
}

// testSparseUser: a user with only an id and an email (no name, address,
// hash or creation time) is stored and read back as such; empty values are
// values, not errors.
func testSparseUser(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	want := userdir.User{ID: "u-sparse", Email: "sparse@example.com"}
	if err := dir.Create(ctx, want); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := dir.Get(ctx, want.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkUser(t, "Get", got, want)
	got, err = dir.ByEmail(ctx, want.Email)
	if err != nil {
		t.Fatalf("ByEmail: %v", err)
	}
	checkUser(t, "ByEmail", got, want)
}

func testDuplicateEmailIgnoresCase(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	if err := dir.Create(ctx, user(1, "bob@example.com")); err != nil {
		t.Fatalf("Create first: %v", err)
	}
	for i, email := range []string{"bob@example.com", "BOB@example.com", " Bob@Example.Com "} {
		err := dir.Create(ctx, user(10+i, email))
		if !errors.Is(err, userdir.ErrDuplicateEmail) {
			t.Errorf("Create with %q: got %v, want %v", email, err, userdir.ErrDuplicateEmail)
		}
	}
}

// testFailedDuplicateKeepsFirst: the losing Create leaves no trace, neither
// a second user nor a change to the first.
func testFailedDuplicateKeepsFirst(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	first := user(1, "carol@example.com")
	if err := dir.Create(ctx, first); err != nil {
		t.Fatalf("Create first: %v", err)
	}
	second := user(2, "CAROL@example.com")
	second.Name = "Someone Else"
	second.PasswordHash = []byte("another hash")
	if err := dir.Create(ctx, second); !errors.Is(err, userdir.ErrDuplicateEmail) {
		t.Fatalf("Create second: got %v, want %v", err, userdir.ErrDuplicateEmail)
	}

	got, err := dir.ByEmail(ctx, "carol@example.com")
	if err != nil {
		t.Fatalf("ByEmail: %v", err)
	}
	checkUser(t, "ByEmail after the failed duplicate", got, first)
	got, err = dir.Get(ctx, first.ID)
	if err != nil {
		t.Fatalf("Get first: %v", err)
	}
	checkUser(t, "Get first after the failed duplicate", got, first)
	if got, err := dir.Get(ctx, second.ID); !errors.Is(err, userdir.ErrNotFound) {
		t.Errorf("Get second: got %+v, %v; want %v", got, err, userdir.ErrNotFound)
	}
}

// testCreateTwice: repeating a Create that succeeded (a client retry after a
// lost response) reports the email as taken and changes nothing.
func testCreateTwice(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	u := user(1, "dave@example.com")
	if err := dir.Create(ctx, u); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := dir.Create(ctx, u); !errors.Is(err, userdir.ErrDuplicateEmail) {
		t.Errorf("Create again: got %v, want %v", err, userdir.ErrDuplicateEmail)
	}
	got, err := dir.ByEmail(ctx, u.Email)
	if err != nil {
		t.Fatalf("ByEmail: %v", err)
	}
	checkUser(t, "ByEmail", got, u)
}

func testNotFound(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	check := func(when string) {
		t.Helper()
		if got, err := dir.Get(ctx, "no-such-id"); !errors.Is(err, userdir.ErrNotFound) {
			t.Errorf("%s: Get(unknown id): got %+v, %v; want %v", when, got, err, userdir.ErrNotFound)
		}
		if got, err := dir.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, userdir.ErrNotFound) {
			t.Errorf("%s: ByEmail(unknown email): got %+v, %v; want %v", when, got, err, userdir.ErrNotFound)
		}
	}
	check("empty directory")
	if err := dir.Create(ctx, user(1, "erin@example.com")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	check("after a Create")
}

// testConcurrentSameEmail: of racing registrations of one email, exactly one
// wins, and every loser is told the email is taken.
func testConcurrentSameEmail(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	const n = 10
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			// Vary the case so normalization is part of the race.
			email := "frank@example.com"
			if i%2 == 1 {
				email = "Frank@Example.com"
			}
			errs[i] = dir.Create(ctx, user(i, email))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("Create %d and Create %d both succeeded; want exactly one", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, userdir.ErrDuplicateEmail):
			t.Errorf("Create %d: got %v, want nil or %v", i, err, userdir.ErrDuplicateEmail)
		}
	}
	if winner < 0 {
		t.Fatalf("no Create succeeded; errors: %v", errs)
	}
	got, err := dir.ByEmail(ctx, "frank@example.com")
	if err != nil {
		t.Fatalf("ByEmail: %v", err)
	}
	if want := user(winner, "").ID; got.ID != want {
		t.Errorf("ByEmail: got user %q, want the winner %q", got.ID, want)
	}
	for i := range n {
		if i == winner {
			continue
		}
		if _, err := dir.Get(ctx, user(i, "").ID); !errors.Is(err, userdir.ErrNotFound) {
			t.Errorf("Get loser %d: got %v, want %v", i, err, userdir.ErrNotFound)
		}
	}
}

func testManyUsers(t *testing.T, dir userdir.Directory) {
	ctx := t.Context()
	const n = 50
	for i := range n {
		if err := dir.Create(ctx, user(i, fmt.Sprintf("user%02d@example.com", i))); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
	}
	for i := range n {
		want := user(i, fmt.Sprintf("user%02d@example.com", i))
		got, err := dir.Get(ctx, want.ID)
		if err != nil {
			t.Errorf("Get %d: %v", i, err)
			continue
		}
		checkUser(t, fmt.Sprintf("Get %d", i), got, want)
		got, err = dir.ByEmail(ctx, want.Email)
		if err != nil {
			t.Errorf("ByEmail %d: %v", i, err)
			continue
		}
		checkUser(t, fmt.Sprintf("ByEmail %d", i), got, want)
	}
}

// user returns a distinct, fully populated user; email is stored as given, so
// pass it normalized when the result is also the expected value.
func user(i int, email string) userdir.User {
	return userdir.User{
		ID:           fmt.Sprintf("user-%03d", i),
		Name:         fmt.Sprintf("User %d", i),
		Email:        email,
		PasswordHash: []byte(fmt.Sprintf("hash-%d\x00\xff", i)), // binary, not text
		Address:      userdir.Address{Line1: fmt.Sprintf("%d High Street", i), City: "Leeds", Postcode: "LS1 1AA", Country: "GB"},
		CreatedAt:    time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC),
	}
}

// checkUser compares every field. CreatedAt must hold the instant to the
// second or better; the zone it comes back in is the store's business.
func checkUser(t *testing.T, what string, got, want userdir.User) {
	t.Helper()
	if d := got.CreatedAt.Sub(want.CreatedAt).Abs(); d >= time.Second {
		t.Errorf("%s: CreatedAt: got %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if !bytes.Equal(got.PasswordHash, want.PasswordHash) {
		t.Errorf("%s: PasswordHash: got %q, want %q", what, got.PasswordHash, want.PasswordHash)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	got.PasswordHash, want.PasswordHash = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

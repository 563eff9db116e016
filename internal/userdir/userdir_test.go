package userdir_test

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/userdir"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	m := userdir.NewMemory()
	ada := userdir.User{ID: "u-1", Name: "Ada", Email: "  Ada@Example.COM ",
		Address: userdir.Address{City: "London", Country: "GB"}, CreatedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := m.Create(ctx, ada); err != nil {
		t.Fatalf("Create: got %v, want nil", err)
	}
	if err := m.Create(ctx, userdir.User{ID: "u-2", Name: "Grace", Email: "grace@example.com"}); err != nil {
		t.Fatalf("Create: got %v, want nil", err)
	}
	want := ada
	want.Email = "ada@example.com" // stored normalised

	t.Run("get", func(t *testing.T) {
		tests := []struct {
			id      string
			wantID  string
			wantErr error
		}{
			{id: "u-1", wantID: "u-1"},
			{id: "u-2", wantID: "u-2"},
			{id: "u-3", wantErr: userdir.ErrNotFound},
			{id: "", wantErr: userdir.ErrNotFound},
		}
		for _, tt := range tests {
			got, err := m.Get(ctx, tt.id)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Get(%q) error: got %v, want %v", tt.id, err, tt.wantErr)
			}
			if got.ID != tt.wantID {
				t.Fatalf("Get(%q): got id %q, want %q", tt.id, got.ID, tt.wantID)
			}
		}
		got, _ := m.Get(ctx, "u-1")
		if got.Email != want.Email || got.Name != want.Name || got.Address != want.Address || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("Get(u-1): got %+v, want %+v", got, want)
		}
	})

	t.Run("by email", func(t *testing.T) {
		tests := []struct {
			email   string
			wantID  string
			wantErr error
		}{
			{email: "ada@example.com", wantID: "u-1"},
			{email: "ADA@EXAMPLE.COM", wantID: "u-1"},
			{email: " ada@example.com\t", wantID: "u-1"},
			{email: "Grace@example.com", wantID: "u-2"},
			{email: "nobody@example.com", wantErr: userdir.ErrNotFound},
			{email: "", wantErr: userdir.ErrNotFound},
		}
		for _, tt := range tests {
			got, err := m.ByEmail(ctx, tt.email)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ByEmail(%q) error: got %v, want %v", tt.email, err, tt.wantErr)
			}
			if got.ID != tt.wantID {
				t.Fatalf("ByEmail(%q): got id %q, want %q", tt.email, got.ID, tt.wantID)
			}
		}
	})

	t.Run("duplicate email", func(t *testing.T) {
		for _, email := range []string{"ada@example.com", "ADA@example.com", " ada@EXAMPLE.com "} {
			err := m.Create(ctx, userdir.User{ID: "u-9", Name: "Impostor", Email: email})
			if !errors.Is(err, userdir.ErrDuplicateEmail) {
				t.Fatalf("Create(%q) error: got %v, want %v", email, err, userdir.ErrDuplicateEmail)
			}
		}
		if _, err := m.Get(ctx, "u-9"); !errors.Is(err, userdir.ErrNotFound) {
			t.Fatalf("Get(u-9) after refused create: got %v, want %v", err, userdir.ErrNotFound)
		}
		got, _ := m.ByEmail(ctx, "ada@example.com")
		if got.ID != "u-1" {
			t.Fatalf("ByEmail after refused create: got %q, want u-1", got.ID)
		}
	})
}

func TestMemoryConcurrentCreate(t *testing.T) {
	// Many writers race for one address: exactly one wins.
	m := userdir.NewMemory()
	const n = 16
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- m.Create(context.Background(), userdir.User{ID: string(rune('a' + i)), Email: "same@example.com"})
		}()
	}
	wg.Wait()
	close(errs)
	var ok, dup int
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, userdir.ErrDuplicateEmail):
			dup++
		default:
			t.Fatalf("Create error: got %v, want nil or %v", err, userdir.ErrDuplicateEmail)
		}
	}
	if ok != 1 || dup != n-1 {
		t.Fatalf("outcomes: got %d created, %d duplicates, want 1, %d", ok, dup, n-1)
	}
}

func TestCheckPassword(t *testing.T) {
	hash, err := userdir.HashPassword("s3cret-passw0rd")
	if err != nil {
		t.Fatalf("HashPassword: got %v, want nil", err)
	}
	if string(hash) == "s3cret-passw0rd" {
		t.Fatalf("HashPassword: got the password itself, want a hash")
	}
	tests := []struct {
		name     string
		hash     []byte
		password string
		want     error
	}{
		{name: "right", hash: hash, password: "s3cret-passw0rd"},
		{name: "wrong", hash: hash, password: "s3cret-passw0rD", want: userdir.ErrBadPassword},
		{name: "empty", hash: hash, password: "", want: userdir.ErrBadPassword},
		{name: "no hash", hash: nil, password: "", want: userdir.ErrBadPassword},
		{name: "not a hash", hash: []byte("s3cret-passw0rd"), password: "s3cret-passw0rd", want: userdir.ErrBadPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := userdir.CheckPassword(userdir.User{ID: "u-1", PasswordHash: tt.hash}, tt.password)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CheckPassword: got %v, want %v", err, tt.want)
			}
		})
	}
}

// locationPattern is the event schemas' location (defs.json#/$defs/party).
var locationPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)

func TestLocation(t *testing.T) {
	tests := []struct {
		city, country string
		want          string
	}{
		{city: "London", country: "GB", want: "GB-LON"},
		{city: "london", country: "gb", want: "GB-LON"},
		{city: "New York", country: "US", want: "US-NEW"},
		{city: " Rio  de Janeiro ", country: "BR", want: "BR-RIO"},
		{city: "Ely", country: "GB", want: "GB-ELY"},
		{city: "Ei", country: "DE", want: "DE-EI"},
		{city: "", country: "FR", want: "FR"},
		{city: "   ", country: "FR", want: "FR"},
		{city: "Paris", country: "", want: ""},
		{city: "", country: "", want: ""},
		// What the schema cannot hold verbatim: accents folded, the rest dropped.
		{city: "Zürich", country: "CH", want: "CH-ZUR"},
		{city: "São Paulo", country: "BR", want: "BR-SAO"},
		{city: "Érd", country: "HU", want: "HU-ERD"},
		{city: "St. Louis", country: "US", want: "US-STL"},
		{city: "Saint-Étienne", country: "FR", want: "FR-SAI"},
		{city: "Łódź", country: "PL", want: "PL-ODZ"},
		{city: "Αθήνα", country: "GR", want: "GR"},
		{city: "東京", country: "JP", want: "JP"},
		{city: "10115 Berlin", country: "DE", want: "DE-101"},
		{city: "London", country: "GBR", want: ""},
		{city: "London", country: "G1", want: ""},
		{city: "London", country: " gb ", want: "GB-LON"},
	}
	for _, tt := range tests {
		t.Run(tt.country+"/"+tt.city, func(t *testing.T) {
			got := userdir.User{Address: userdir.Address{City: tt.city, Country: tt.country}}.Location()
			if got != tt.want {
				t.Fatalf("Location(%q, %q): got %q, want %q", tt.city, tt.country, got, tt.want)
			}
			if got != "" && !locationPattern.MatchString(got) {
				t.Fatalf("Location(%q, %q): got %q, want a match of %s", tt.city, tt.country, got, locationPattern)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{" Ada@Example.COM\n", "ada@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := userdir.NormalizeEmail(tt.in); got != tt.want {
			t.Fatalf("NormalizeEmail(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

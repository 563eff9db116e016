// Package userdir is the user directory: accounts, password checks, and the
// profile (display name, address) edge functions enrich events with. It is a
// table at rest, not a stream, which is why enriching from it in a function
// is fine (see the README on caching and staleness). It sits in internal/,
// below the functions and services that use it, because it is a port they
// depend on, not a service of its own: the gateway's account routes and the
// edge functions both read it.
package userdir

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Sentinel errors every Directory implementation returns.
var (
	ErrNotFound       = errors.New("user not found")
	ErrDuplicateEmail = errors.New("email already registered")
	ErrBadPassword    = errors.New("wrong email or password")
)

// Address is a postal address.
type Address struct {
	Line1    string `json:"line1"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	// Country is an ISO 3166-1 alpha-2 code.
	Country string `json:"country"`
}

// User is an account.
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	PasswordHash []byte    `json:"-"`
	Address      Address   `json:"address"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Location is the coarse cell the edge puts on events: country and the
// first three letters of the city ("GB-LON"). Enough for analytics by
// region; never the address itself.
//
// The result always fits the event schemas' location pattern
// (^[A-Z]{2}(-[A-Z0-9]{1,3})?$) or is empty: accents are folded ("Zürich":
// ZUR), other characters are dropped ("St. Louis": STL), and a country that
// is not two letters gives no location at all.
func (u User) Location() string {
	country := strings.ToUpper(strings.TrimSpace(u.Address.Country))
	if len(country) != 2 || !isUpperASCII(country[0]) || !isUpperASCII(country[1]) {
		return ""
	}
	var city []byte
	for _, r := range norm.NFD.String(strings.ToUpper(u.Address.City)) {
		if len(city) == 3 {
			break
		}
		if r < utf8.RuneSelf && (isUpperASCII(byte(r)) || '0' <= r && r <= '9') {
			city = append(city, byte(r))
		}
	}
	if len(city) == 0 {
		return country
	}
	return country + "-" + string(city)
}

func isUpperASCII(c byte) bool { return 'A' <= c && c <= 'Z' }

// HashPassword hashes a password for storage.
func HashPassword(password string) ([]byte, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// CheckPassword compares a password with its stored hash.
func CheckPassword(u User, password string) error {
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		return ErrBadPassword
	}
	return nil
}

// NormalizeEmail is the form emails are stored and compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Directory stores users. Implementations: Memory (embedded mode).
type Directory interface {
	Create(ctx context.Context, u User) error
	Get(ctx context.Context, id string) (User, error)
	ByEmail(ctx context.Context, email string) (User, error)
}

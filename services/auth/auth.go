// Package auth issues and checks the platform's bearer tokens (JWT) and puts
// the caller's identity on the request context. Identity comes only from a
// verified token, never from a request body.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrUnauthenticated means there is no valid token.
var ErrUnauthenticated = errors.New("unauthenticated")

// Tokens signs and verifies HS256 tokens with a fixed issuer and audience.
// The algorithm is pinned: a token claiming any other is refused (RFC 8725).
type Tokens struct {
	key      []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// Config for Tokens.
type Config struct {
	// Key is the HMAC key, at least 32 bytes.
	Key      []byte
	Issuer   string
	Audience string
	TTL      time.Duration
}

// NewTokens checks cfg and returns a signer/verifier.
func NewTokens(cfg Config, now func() time.Time) (*Tokens, error) {
	if len(cfg.Key) < 32 {
		return nil, fmt.Errorf("auth: signing key must be at least 32 bytes, got %d", len(cfg.Key))
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: cfg.Key, issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.TTL, now: now}, nil
}

// GenerateKey returns a random signing key, for the embedded mode.
func GenerateKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails on Linux (and panics rather than return short)
	return k
}

// DeriveKey returns a key for purpose, derived from the signing key: one
// secret that every replica shares, and a separate key for each use of it.
func (t *Tokens) DeriveKey(purpose string) []byte {
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte("auction derived key: " + purpose))
	return mac.Sum(nil)
}

// TTL is how long issued tokens live.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue returns a token for subject valid for ttl (0: the configured TTL).
func (t *Tokens) Issue(subject string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = t.ttl
	}
	now := t.now()
	claims := jwt.RegisteredClaims{
		Subject:   subject,
		Issuer:    t.issuer,
		Audience:  jwt.ClaimStrings{t.audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify returns the subject of a valid token.
func (t *Tokens) Verify(token string) (string, error) {
	parsed, err := jwt.ParseWithClaims(token, &jwt.RegisteredClaims{},
		func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	sub, err := parsed.Claims.GetSubject()
	if err != nil || sub == "" {
		return "", fmt.Errorf("%w: token has no subject", ErrUnauthenticated)
	}
	return sub, nil
}

type ctxKey struct{}

// Subject returns the authenticated caller's user id.
func Subject(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(ctxKey{}).(string)
	return s, ok
}

// Require is middleware that lets a request through only with a valid bearer
// token, and calls deny otherwise.
func (t *Tokens) Require(deny func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			scheme, token, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
				deny(w, r, fmt.Errorf("%w: missing bearer token", ErrUnauthenticated))
				return
			}
			sub, err := t.Verify(token)
			if err != nil {
				deny(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sub)))
		})
	}
}

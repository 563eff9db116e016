package auth_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/auctionflow/auction/services/auth"
)

const (
	issuer   = "https://auth.auctionflow.test"
	audience = "auction-api"
)

var now = time.Date(2030, 3, 14, 18, 0, 0, 0, time.UTC)

func newTokens(t *testing.T, key []byte, iss, aud string, at time.Time) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens(auth.Config{Key: key, Issuer: iss, Audience: aud, TTL: time.Hour},
		func() time.Time { return at })
	if err != nil {
		t.Fatalf("NewTokens: got %v, want nil", err)
	}
	return tk
}

// sign signs claims with method and key, bypassing Tokens.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: got %v, want nil", method.Alg(), err)
	}
	return s
}

func claims(sub string) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Subject: sub, Issuer: issuer, Audience: jwt.ClaimStrings{audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
}

func TestNewTokensKeyLength(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		wantErr bool
	}{
		{name: "nil", key: nil, wantErr: true},
		{name: "16 bytes", key: bytes.Repeat([]byte{1}, 16), wantErr: true},
		{name: "31 bytes", key: bytes.Repeat([]byte{1}, 31), wantErr: true},
		{name: "32 bytes", key: bytes.Repeat([]byte{1}, 32)},
		{name: "64 bytes", key: bytes.Repeat([]byte{1}, 64)},
		{name: "generated", key: auth.GenerateKey()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := auth.NewTokens(auth.Config{Key: tt.key, Issuer: issuer, Audience: audience}, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewTokens error: got %v, want error=%v", err, tt.wantErr)
			}
			if err == nil && tk.TTL() != time.Hour {
				t.Fatalf("default TTL: got %v, want %v", tk.TTL(), time.Hour)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := auth.GenerateKey(), auth.GenerateKey()
	if len(a) != 32 {
		t.Fatalf("key length: got %d, want 32", len(a))
	}
	if bytes.Equal(a, b) {
		t.Fatalf("two keys: got equal keys %x, want different", a)
	}
}

func TestIssueVerify(t *testing.T) {
	key := auth.GenerateKey()
	tests := []struct {
		name    string
		subject string
		ttl     time.Duration
		wantExp time.Time
	}{
		{name: "configured TTL", subject: "user-1", wantExp: now.Add(time.Hour)},
		{name: "own TTL", subject: "user-2", ttl: 5 * time.Minute, wantExp: now.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := newTokens(t, key, issuer, audience, now)
			tok, err := tk.Issue(tt.subject, tt.ttl)
			if err != nil {
				t.Fatalf("Issue: got %v, want nil", err)
			}
			sub, err := tk.Verify(tok)
			if err != nil || sub != tt.subject {
				t.Fatalf("Verify: got %q, %v, want %q, nil", sub, err, tt.subject)
			}
			var c jwt.RegisteredClaims
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, &c)
			if err != nil {
				t.Fatalf("ParseUnverified: got %v, want nil", err)
			}
			if alg := parsed.Header["alg"]; alg != "HS256" {
				t.Fatalf("alg: got %v, want HS256", alg)
			}
			if c.Issuer != issuer || len(c.Audience) != 1 || c.Audience[0] != audience {
				t.Fatalf("iss, aud: got %q, %v, want %q, [%s]", c.Issuer, c.Audience, issuer, audience)
			}
			if !c.ExpiresAt.Time.Equal(tt.wantExp) {
				t.Fatalf("exp: got %v, want %v", c.ExpiresAt.Time, tt.wantExp)
			}
			// Still valid a second before expiry, not at it.
			if _, err := newTokens(t, key, issuer, audience, tt.wantExp.Add(-time.Second)).Verify(tok); err != nil {
				t.Fatalf("Verify just before exp: got %v, want nil", err)
			}
			if _, err := newTokens(t, key, issuer, audience, tt.wantExp).Verify(tok); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Verify at exp: got %v, want %v", err, auth.ErrUnauthenticated)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	key := auth.GenerateKey()
	tk := newTokens(t, key, issuer, audience, now)
	issue := func(t *testing.T, tk *auth.Tokens) string {
		t.Helper()
		tok, err := tk.Issue("user-1", 0)
		if err != nil {
			t.Fatalf("Issue: got %v, want nil", err)
		}
		return tok
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{name: "empty", token: func(*testing.T) string { return "" }},
		{name: "garbage", token: func(*testing.T) string { return "a.b.c" }},
		{name: "tampered payload", token: func(t *testing.T) string {
			parts := strings.Split(issue(t, tk), ".")
			forged := claims("admin")
			payload := strings.Split(sign(t, jwt.SigningMethodHS256, []byte("some other key, 32 bytes long!!"), forged), ".")[1]
			return parts[0] + "." + payload + "." + parts[2]
		}},
		{name: "tampered signature", token: func(t *testing.T) string {
			tok := issue(t, tk)
			sig := []byte(tok[strings.LastIndexByte(tok, '.')+1:])
			raw, err := base64.RawURLEncoding.DecodeString(string(sig))
			if err != nil {
				t.Fatalf("decode signature: got %v, want nil", err)
			}
			raw[0] ^= 0xff
			return tok[:strings.LastIndexByte(tok, '.')+1] + base64.RawURLEncoding.EncodeToString(raw)
		}},
		{name: "other key", token: func(t *testing.T) string {
			return issue(t, newTokens(t, auth.GenerateKey(), issuer, audience, now))
		}},
		{name: "wrong issuer", token: func(t *testing.T) string {
			return issue(t, newTokens(t, key, "https://evil.example", audience, now))
		}},
		{name: "wrong audience", token: func(t *testing.T) string {
			return issue(t, newTokens(t, key, issuer, "billing-api", now))
		}},
		{name: "expired", token: func(t *testing.T) string {
			return issue(t, newTokens(t, key, issuer, audience, now.Add(-2*time.Hour)))
		}},
		{name: "not yet valid", token: func(t *testing.T) string {
			return issue(t, newTokens(t, key, issuer, audience, now.Add(time.Hour)))
		}},
		{name: "HS512 with the same key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS512, key, claims("user-1"))
		}},
		{name: "HS384 with the same key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS384, key, claims("user-1"))
		}},
		{name: "alg none", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("user-1"))
		}},
		{name: "missing subject", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, key, claims(""))
		}},
		{name: "missing expiry", token: func(t *testing.T) string {
			c := claims("user-1")
			c.ExpiresAt = nil
			return sign(t, jwt.SigningMethodHS256, key, c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := tk.Verify(tt.token(t))
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Verify error: got %v, want %v", err, auth.ErrUnauthenticated)
			}
			if sub != "" {
				t.Fatalf("Verify subject: got %q, want empty", sub)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	tk := newTokens(t, auth.GenerateKey(), issuer, audience, now)
	tok, err := tk.Issue("user-1", 0)
	if err != nil {
		t.Fatalf("Issue: got %v, want nil", err)
	}
	tests := []struct {
		name    string
		header  string
		wantSub string // "" means denied
	}{
		{name: "valid", header: "Bearer " + tok, wantSub: "user-1"},
		{name: "scheme in lower case", header: "bearer " + tok, wantSub: "user-1"},
		{name: "missing", header: ""},
		{name: "wrong scheme", header: "Basic " + tok},
		{name: "no scheme", header: tok},
		{name: "scheme only", header: "Bearer "},
		{name: "invalid token", header: "Bearer " + tok + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotSub string
			var gotOK bool
			var denied error
			next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				gotSub, gotOK = auth.Subject(r.Context())
			})
			deny := func(w http.ResponseWriter, _ *http.Request, err error) {
				denied = err
				w.WriteHeader(http.StatusUnauthorized)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			tk.Require(deny)(next).ServeHTTP(httptest.NewRecorder(), r)

			if tt.wantSub == "" {
				if !errors.Is(denied, auth.ErrUnauthenticated) || gotOK {
					t.Fatalf("denied: got %v (next ran: %v), want %v", denied, gotOK, auth.ErrUnauthenticated)
				}
				return
			}
			if denied != nil || !gotOK || gotSub != tt.wantSub {
				t.Fatalf("subject: got %q, %v (denied %v), want %q, true", gotSub, gotOK, denied, tt.wantSub)
			}
		})
	}
}

func TestSubjectWithoutToken(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if sub, ok := auth.Subject(r.Context()); ok || sub != "" {
		t.Fatalf("Subject: got %q, %v, want \"\", false", sub, ok)
	}
}

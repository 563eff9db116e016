package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/services/auth"
)

// demoPassword is every demo user's password. Demo users exist only where
// AUCTION_DEMO_USERS is on (the default for a laptop); turn it off anywhere real.
const demoPassword = "auction-demo"

type demoUser struct {
	userdir.User
	Token string
}

func seedDemoUsers(ctx context.Context, dir userdir.Directory, tokens *auth.Tokens) ([]demoUser, error) {
	people := []userdir.User{
		{ID: "u-alice", Name: "Alice Archer", Email: "alice@example.com",
			Address: userdir.Address{Line1: "1 Market St", City: "London", Postcode: "EC1A 1AA", Country: "GB"}},
		{ID: "u-bob", Name: "Bob Baker", Email: "bob@example.com",
			Address: userdir.Address{Line1: "2 Rue du Pont", City: "Paris", Postcode: "75001", Country: "FR"}},
		{ID: "u-carol", Name: "Carol Chen", Email: "carol@example.com",
			Address: userdir.Address{Line1: "3 Hauptstrasse", City: "Berlin", Postcode: "10115", Country: "DE"}},
	}
	hash, err := userdir.HashPassword(demoPassword)
	if err != nil {
		return nil, err
	}
	out := make([]demoUser, 0, len(people))
	for _, u := range people {
		u.PasswordHash = hash
		u.CreatedAt = time.Now().UTC()
		switch err := dir.Create(ctx, u); {
		case errors.Is(err, userdir.ErrDuplicateEmail):
			// Seeded by an earlier start or another replica on a shared
			// store: use the account as it is.
			existing, err := dir.ByEmail(ctx, u.Email)
			if err != nil {
				return nil, fmt.Errorf("seed demo user %s: %w", u.Email, err)
			}
			u = existing
		case err != nil:
			return nil, fmt.Errorf("seed demo user %s: %w", u.Email, err)
		}
		tok, err := tokens.Issue(u.ID, 24*time.Hour)
		if err != nil {
			return nil, err
		}
		out = append(out, demoUser{User: u, Token: tok})
	}
	return out, nil
}

func printDemoUsers(w io.Writer, addr string, demo []demoUser) {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "\nAuction platform ready at %s\n\nDemo users (password %q):\n", base, demoPassword)
	for _, u := range demo {
		fmt.Fprintf(w, "  %-13s %-18s id %-8s token (24h): %s\n", u.Name, u.Email, u.ID, u.Token)
	}
	fmt.Fprintf(w, `
Try it:
  TOKEN=%s
  curl -s -X POST %s/v1/items -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"title":"Vintage camera","category":"cameras","currency":"EUR","startingPrice":5000,"durationSeconds":120}'
  curl -s %s/v1/items/<itemId>

`, demo[0].Token, base, base)
}

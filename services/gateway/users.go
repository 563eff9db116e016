package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

type registerRequest struct {
	Name     string          `json:"name"`
	Email    string          `json:"email"`
	Password string          `json:"password"`
	Address  userdir.Address `json:"address"`
}

type userResponse struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Email     string          `json:"email"`
	Address   userdir.Address `json:"address"`
	CreatedAt time.Time       `json:"createdAt"`
}

// register creates an account: 201 with the user, 409 if the email is taken.
// With an Idempotency-Key, a retry gets the first answer back (see once).
func (g *Gateway) register(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if !decodeJSON(w, r, maxBody, &req) {
		return
	}
	// Registration has no caller yet: the key's scope is everyone's, and a
	// replay needs the very same body (password included) anyway.
	g.once(w, r, "", req, func(w http.ResponseWriter, _ string) {
		if errs := validateRegistration(req); len(errs) > 0 {
			writeProblem(w, r, http.StatusUnprocessableEntity, "invalid-user", "the registration was refused", errs...)
			return
		}
		hash, err := userdir.HashPassword(req.Password)
		if err != nil {
			g.internal(w, r, err)
			return
		}
		u := userdir.User{
			ID: "u-" + uuid.Must(uuid.NewV7()).String(), Name: strings.TrimSpace(req.Name),
			Email: userdir.NormalizeEmail(req.Email), PasswordHash: hash, Address: req.Address,
			CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		}
		switch err := g.Users.Create(r.Context(), u); {
		case errors.Is(err, userdir.ErrDuplicateEmail):
			writeProblem(w, r, http.StatusConflict, "duplicate-email", "an account with this email exists")
			return
		case err != nil:
			g.internal(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, userResponse{ID: u.ID, Name: u.Name, Email: u.Email, Address: u.Address, CreatedAt: u.CreatedAt})
	})
}

// profileResponse is what anyone may see of a user: the id and the display
// name, never the email or the address.
type profileResponse struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// getProfile answers a user's public profile.
func (g *Gateway) getProfile(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "userId")
	u, err := g.Profiles.Get(r.Context(), id)
	switch {
	case errors.Is(err, userdir.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "unknown-user", "no user "+id)
		return
	case err != nil:
		g.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profileResponse{ID: u.ID, Name: u.Name})
}

// displayName is the user's name for a body that names them, "" when the
// directory cannot say (the body still has the id).
func (g *Gateway) displayName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	u, err := g.Profiles.Get(ctx, id)
	if err != nil {
		if !errors.Is(err, userdir.ErrNotFound) {
			g.Log.Warn("display name unavailable", "user", id, "err", err)
		}
		return ""
	}
	return u.Name
}

func validateRegistration(req registerRequest) []schemas.FieldError {
	var errs []schemas.FieldError
	add := func(field, code, msg string) {
		errs = append(errs, schemas.FieldError{Field: field, Code: code, Message: msg})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(req.Name)); n < 1 || n > 100 {
		add("/name", "length", "name must be 1 to 100 characters")
	}
	if a, err := mail.ParseAddress(req.Email); err != nil || a.Address != strings.TrimSpace(req.Email) || len(req.Email) > 254 {
		add("/email", "format", "email must be a plain address like name@example.com")
	}
	// bcrypt reads at most 72 bytes; longer passwords would be silently cut.
	if n := len(req.Password); n < 8 || n > 72 {
		add("/password", "length", "password must be 8 to 72 bytes")
	}
	for _, f := range []struct{ name, value string }{
		{"line1", req.Address.Line1}, {"city", req.Address.City}, {"postcode", req.Address.Postcode},
	} {
		if n := utf8.RuneCountInString(strings.TrimSpace(f.value)); n < 1 || n > 100 {
			add("/address/"+f.name, "length", fmt.Sprintf("%s must be 1 to 100 characters", f.name))
		}
	}
	for _, f := range []struct{ field, text string }{
		{"/name", req.Name}, {"/address/line1", req.Address.Line1}, {"/address/city", req.Address.City}, {"/address/postcode", req.Address.Postcode},
	} {
		if r, bad := schemas.TextFault(f.text); bad {
			add(f.field, "text", fmt.Sprintf("%s must not hold the control character %U", f.field[strings.LastIndexByte(f.field, '/')+1:], r))
		}
	}
	if c := req.Address.Country; len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		add("/address/country", "pattern", "country must be an ISO 3166-1 alpha-2 code like GB")
	}
	return errs
}

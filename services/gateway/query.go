package gateway

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/auctionflow/auction/schemas"
)

// strictQuery is the request's query, with an error for each of names
// given empty (`status=`) or more than once (`status=open&status=closed`):
// a lenient reading would answer a question the client did not ask.
// Parameters the operation does not name are left alone, as HTTP caches
// and proxies add their own.
func strictQuery(r *http.Request, names ...string) (url.Values, []schemas.FieldError) {
	q := r.URL.Query()
	var errs []schemas.FieldError
	for _, name := range names {
		vs, ok := q[name]
		switch {
		case !ok:
		case len(vs) > 1:
			errs = append(errs, schemas.FieldError{Field: name, Code: "repeated", Message: name + " must be given once"})
		case vs[0] == "":
			errs = append(errs, schemas.FieldError{Field: name, Code: "empty", Message: name + " must not be empty (leave it out instead)"})
		}
	}
	return q, errs
}

// cursorPrefix versions the opaque page cursor.
const cursorPrefix = "c1."

// encodeCursor makes the opaque cursor that continues after key.
func encodeCursor(key string) string {
	if key == "" {
		return ""
	}
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeCursor is the key a cursor continues after; ok is false for a
// cursor this API did not make.
func decodeCursor(c string) (key string, ok bool) {
	rest, found := strings.CutPrefix(c, cursorPrefix)
	if !found {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) == 0 || len(b) > schemas.MaxIDLength {
		return "", false
	}
	if _, bad := schemas.TextFault(string(b)); bad {
		return "", false
	}
	return string(b), true
}

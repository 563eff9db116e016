package gateway

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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

// pageQuery reads a page's cursor (the key it continues after, "" for the
// first page) and limit from q, adding what is wrong to errs.
func pageQuery(q url.Values, errs []schemas.FieldError) (after string, limit int, _ []schemas.FieldError) {
	if c := q.Get("cursor"); c != "" {
		var ok bool
		if after, ok = decodeCursor(c); !ok {
			errs = append(errs, schemas.FieldError{Field: "cursor", Code: "format", Message: "cursor must be a nextCursor this API gave"})
		}
	}
	limit = defaultPageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			errs = append(errs, schemas.FieldError{Field: "limit", Code: "range", Message: fmt.Sprintf("limit must be 1 to %d", maxPageSize)})
		}
		limit = n
	}
	return after, limit, errs
}

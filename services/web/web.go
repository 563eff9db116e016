// Package web provides the browser page of the platform: one HTML document
// and its scripts, styles and icon, embedded in the binary and served by the
// gateway at / (everything the API, /healthz, /readyz and /metrics leave).
//
// The page is a client of the public API and nothing more: it signs in with
// POST /v1/auth/token, reads items, notifications and analytics over /v1,
// places items and bids, and follows an item's decisions over the
// Server-Sent Events of GET /v1/items/{itemId}/events. It holds no state on
// the server and needs nothing from the network but the gateway it came from.
//
// Assets are served under a path that names their content
// (/assets/<version>/app.js), so browsers may cache them for good; the
// document itself is revalidated on every load, so a new build is picked up
// at once.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// assetsToken is where index.html names its assets' folder.
const assetsToken = "{{assets}}"

// contentType is set from the extension here, not read from the system's
// MIME table, which differs between machines (.js in particular) and would
// break module scripts under X-Content-Type-Options: nosniff.
func contentType(ext string) string {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// csp allows exactly what the page uses: its own scripts, styles, icon and
// API, nothing inline and nothing from elsewhere.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type file struct {
	body  []byte
	ctype string
	etag  string
}

// site serves the page and its assets from memory.
type site struct {
	version string // a digest of every asset: the cache key in asset paths
	index   file
	assets  map[string]file // by file name under static/
}

// Handler serves the page at / and its assets under /assets/; any other
// path is 404. It reads only what is embedded, so it cannot fail.
func Handler() http.Handler {
	s := &site{assets: map[string]file{}}
	h := sha256.New()
	names, _ := fs.Glob(static, "static/*") // a constant pattern: never an error
	sort.Strings(names)
	for _, n := range names {
		b, _ := static.ReadFile(n) // embedded: always readable
		name := path.Base(n)
		h.Write([]byte(name))
		h.Write(b)
		if name == "index.html" {
			s.index.body = b
			continue
		}
		s.assets[name] = newFile(b, contentType(path.Ext(name)))
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:12]
	s.index = newFile(bytes.ReplaceAll(s.index.body, []byte(assetsToken), []byte("/assets/"+s.version)), contentType(".html"))
	return s
}

func newFile(b []byte, ctype string) file {
	sum := sha256.Sum256(b)
	return file{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	p := r.URL.Path
	switch {
	case p == "/":
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Referrer-Policy", "same-origin")
		// Revalidate every time: the document names the current assets.
		serve(w, r, s.index, "no-cache")
	case strings.HasPrefix(p, "/assets/"):
		version, name, ok := strings.Cut(strings.TrimPrefix(p, "/assets/"), "/")
		f, found := s.assets[name]
		if !ok || !found {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if version != s.version {
			// A page from another build: the file it asks for is not the
			// one under this name now, so it must not be kept.
			serve(w, r, f, "no-cache")
			return
		}
		serve(w, r, f, "public, max-age=31536000, immutable")
	default:
		notFound(w, p)
	}
}

func serve(w http.ResponseWriter, r *http.Request, f file, cacheControl string) {
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("ETag", f.etag)
	// ServeContent answers If-None-Match with 304, HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// notFound answers a path that names a file in plain text, and any other
// path (a mistyped page address) with a short page that links home. Neither
// is the application page: a missing script must fail as a 404, not run as
// HTML.
func notFound(w http.ResponseWriter, p string) {
	if path.Ext(p) != "" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType(".html"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(notFoundPage))
}

const notFoundPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body><main><h1>Not found</h1><p>There is no page here. The auctions are at <a href="/">/</a>.</p></main></body></html>
`

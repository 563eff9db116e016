package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/auctionflow/auction/services/web"
)

func fetch(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assetPaths are the assets the page names, under their versioned folder.
var assetPaths = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

func TestPage(t *testing.T) {
	h := web.Handler()
	resp := fetch(t, h, http.MethodGet, "/", nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: got %d, want 200", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("GET / %s: got %q, want %q", name, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("GET / Content-Security-Policy: got %q, want scripts from the page's own origin only", csp)
	}
	if strings.Contains(page, "{{assets}}") {
		t.Fatal("the page still holds the assets placeholder")
	}
	for _, landmark := range []string{`<main id="main"`, `<nav aria-label="Main">`, `<header`, `<footer`, `aria-live="polite"`, `lang="en"`} {
		if !strings.Contains(page, landmark) {
			t.Errorf("the page lacks %s", landmark)
		}
	}
	refs := assetPaths.FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page names %d assets, want the script, the stylesheet and the icon", len(refs))
	}
	for _, m := range refs {
		resp := fetch(t, h, http.MethodGet, m[1], nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", m[1], resp.StatusCode)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s Cache-Control: got %q, want immutable (the path names the content)", m[1], got)
		}
	}
}

// TestModulesResolve: every module a script imports is served, so a renamed
// file cannot break the page without failing here.
func TestModulesResolve(t *testing.T) {
	h := web.Handler()
	page := body(t, fetch(t, h, http.MethodGet, "/", nil))
	m := regexp.MustCompile(`src="(/assets/[^/]+/)app\.js"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page loads no app.js")
	}
	dir := m[1]
	imports := regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	seen := map[string]bool{}
	queue := []string{"app.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		resp := fetch(t, h, http.MethodGet, dir+name, nil)
		src := body(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("GET %s%s: got %d %q, want 200 text/javascript", dir, name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, imp := range imports.FindAllStringSubmatch(src, -1) {
			queue = append(queue, imp[1])
		}
	}
	if len(seen) < 5 {
		t.Fatalf("app.js reaches %d modules, want all of the page's modules", len(seen))
	}
}

func TestServe(t *testing.T) {
	h := web.Handler()
	page := body(t, fetch(t, h, http.MethodGet, "/", nil))
	css := regexp.MustCompile(`href="(/assets/[^"]+\.css)"`).FindStringSubmatch(page)[1]
	stale := regexp.MustCompile(`/assets/[^/]+/`).ReplaceAllString(css, "/assets/000000000000/")

	tests := []struct {
		name, method, target string
		header               http.Header
		wantStatus           int
		wantType             string // prefix of Content-Type; "" for none
		wantCache            string
		wantInBody           string
		wantNotInBody        string
	}{
		{name: "stylesheet", method: "GET", target: css, wantStatus: 200, wantType: "text/css; charset=utf-8",
			wantCache: "public, max-age=31536000, immutable", wantInBody: "--accent"},
		{name: "asset of another build is served but not kept", method: "GET", target: stale, wantStatus: 200,
			wantType: "text/css", wantCache: "no-cache"},
		{name: "HEAD of the page", method: "HEAD", target: "/", wantStatus: 200, wantType: "text/html"},
		{name: "unknown asset is a plain 404, not the page", method: "GET", target: strings.Replace(css, "style.css", "nope.js", 1),
			wantStatus: 404, wantType: "text/plain", wantNotInBody: "app.js"},
		{name: "asset outside a version folder", method: "GET", target: "/assets/app.js", wantStatus: 404, wantType: "text/plain"},
		{name: "escape attempt", method: "GET", target: "/assets/x/..%2Fweb.go", wantStatus: 404, wantType: "text/plain"},
		{name: "file at the root", method: "GET", target: "/favicon.ico", wantStatus: 404, wantType: "text/plain"},
		{name: "unknown page links home", method: "GET", target: "/auctions", wantStatus: 404, wantType: "text/html",
			wantInBody: `href="/"`, wantNotInBody: "app.js"},
		{name: "write method", method: "POST", target: "/", wantStatus: 405, wantType: "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := fetch(t, h, tt.method, tt.target, tt.header)
			b := body(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: got %d, want %d", tt.method, tt.target, resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); tt.wantType != "" && !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("Content-Type: got %q, want %q", got, tt.wantType)
			}
			if got := resp.Header.Get("Cache-Control"); tt.wantCache != "" && got != tt.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.wantCache)
			}
			if tt.wantInBody != "" && !strings.Contains(b, tt.wantInBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantInBody, b)
			}
			if tt.wantNotInBody != "" && strings.Contains(b, tt.wantNotInBody) {
				t.Errorf("body has %q:\n%s", tt.wantNotInBody, b)
			}
			if tt.method == http.MethodHead && b != "" {
				t.Errorf("HEAD answered a body of %d bytes", len(b))
			}
			if tt.method == http.MethodPost && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow: got %q, want GET, HEAD", resp.Header.Get("Allow"))
			}
		})
	}
}

// TestRevalidate: a browser holding the current copy gets 304 and no body.
func TestRevalidate(t *testing.T) {
	h := web.Handler()
	page := body(t, fetch(t, h, http.MethodGet, "/", nil))
	for _, target := range []string{"/", assetPaths.FindStringSubmatch(page)[1]} {
		first := fetch(t, h, http.MethodGet, target, nil)
		etag := first.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", target)
		}
		again := fetch(t, h, http.MethodGet, target, http.Header{"If-None-Match": {etag}})
		if again.StatusCode != http.StatusNotModified || body(t, again) != "" {
			t.Fatalf("GET %s with If-None-Match %s: got %d, want 304 with no body", target, etag, again.StatusCode)
		}
	}
}

// The page beside an API, as the gateway mounts it: the API's routes win,
// the page has the rest.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[]}`))
	})
	mux.Handle("/", web.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, path := range []string{"/", "/v1/items", "/nowhere.js"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Output:
	// / 200 text/html; charset=utf-8
	// /v1/items 200 application/json
	// /nowhere.js 404 text/plain; charset=utf-8
}

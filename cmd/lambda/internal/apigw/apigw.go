// Package apigw binds an http.Handler to the events of an Amazon API
// Gateway HTTP API (payload format 2.0), so an edge function answers
// behind API Gateway exactly as it does behind the platform's own HTTP
// server: the same router, the same validation, the same problem+json.
//
// A request event becomes an *http.Request (method, raw path and query,
// headers, cookies, the body decoded from base64 when API Gateway encoded
// it, the caller's address), and what the handler writes becomes the
// response event: status, headers (repeated ones joined by commas, as
// HTTP allows, and Set-Cookie as the event's cookies), and the body, base64
// when it is not UTF-8 text.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler is the Lambda handler of an HTTP API route served by h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		w := &recorder{header: http.Header{}}
		h.ServeHTTP(w, r)
		return w.response(), nil
	}
}

// Request is the HTTP request of ev. An event API Gateway could not have
// sent (a body that is not base64 when flagged so, a path that is not one)
// is an error.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("request %s: body: %w", ev.RequestContext.RequestID, err)
		}
	}
	target := ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", ev.RequestContext.RequestID, err)
	}
	r, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", ev.RequestContext.RequestID, err)
	}
	r.URL, r.RequestURI = u, target
	r.Proto = ev.RequestContext.HTTP.Protocol
	if major, minor, ok := http.ParseHTTPVersion(r.Proto); ok {
		r.ProtoMajor, r.ProtoMinor = major, minor
	}
	for name, value := range ev.Headers {
		// API Gateway joins a repeated header's values with commas.
		r.Header.Set(name, value)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.ContentLength = int64(len(body))
	r.RemoteAddr = net.JoinHostPort(ev.RequestContext.HTTP.SourceIP, "0")
	return r, nil
}

// recorder is the http.ResponseWriter of one event.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *recorder) response() events.APIGatewayV2HTTPResponse {
	w.WriteHeader(http.StatusOK)
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}}
	for name, values := range w.header {
		if name == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, values...)
			continue
		}
		resp.Headers[name] = strings.Join(values, ",")
	}
	if b := w.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return resp
}

package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/auctionflow/auction/cmd/lambda/internal/apigw"
)

func event(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/post-bid.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestRequest: an HTTP API event as API Gateway sends one (base64 body,
// cookies apart, a header repeated) is the request the client made.
func TestRequest(t *testing.T) {
	r, err := apigw.Request(context.Background(), event(t))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	got := map[string]any{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.Query().Get("x"), "uri": r.RequestURI, "host": r.Host,
		"proto": r.ProtoMajor*10 + r.ProtoMinor, "remote": r.RemoteAddr, "length": r.ContentLength, "body": string(body),
		"type": r.Header.Get("Content-Type"), "key": r.Header.Get("Idempotency-Key"), "multi": r.Header.Get("X-Multi"),
		"auth": r.Header.Get("Authorization"), "cookie": mustCookie(t, r, "theme"),
	}
	want := map[string]any{
		"method": "POST", "path": "/v1/items/item-42/bids", "query": "a b", "uri": "/v1/items/item-42/bids?wait=2&x=a%20b",
		"host": "r3pmxmplak.execute-api.eu-west-1.amazonaws.com", "proto": 11, "remote": "205.255.255.176:0",
		"length": int64(16), "body": `{"amount":15000}`, "type": "application/json", "key": "k-1", "multi": "one,two",
		"auth": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "cookie": "dark",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request\n got %v\nwant %v", got, want)
	}
}

func mustCookie(t *testing.T, r *http.Request, name string) string {
	t.Helper()
	c, err := r.Cookie(name)
	if err != nil {
		t.Fatalf("cookie %s: %v", name, err)
	}
	return c.Value
}

// TestRequestRefused: what API Gateway never sends is an error, not a
// request.
func TestRequestRefused(t *testing.T) {
	for name, mend := range map[string]func(*events.APIGatewayV2HTTPRequest){
		"body not base64": func(ev *events.APIGatewayV2HTTPRequest) { ev.Body = "{not base64" },
		"relative path":   func(ev *events.APIGatewayV2HTTPRequest) { ev.RawPath = "v1/items" },
		"no method":       func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.HTTP.Method = "BAD METHOD" },
	} {
		ev := event(t)
		mend(&ev)
		if _, err := apigw.Request(context.Background(), ev); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestHandler: what the handler writes is the response event: the status,
// headers with repeated values joined, Set-Cookie as cookies, a text body
// as it is and any other in base64; a handler that writes nothing is 200.
func TestHandler(t *testing.T) {
	binary := []byte{0xff, 0x00, 0x7f}
	h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/text":
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"status":422}`)
			w.WriteHeader(http.StatusOK) // too late: the status stays
		case "/binary":
			_, _ = w.Write(binary)
		}
	}))
	ev := event(t)
	ev.RawPath, ev.RawQueryString = "/text", ""
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := events.APIGatewayV2HTTPResponse{StatusCode: 422, Body: `{"status":422}`, Cookies: []string{"a=1", "b=2"},
		Headers: map[string]string{"Content-Type": "application/problem+json", "Vary": "Origin,Accept"}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("text response\n got %+v\nwant %+v", resp, want)
	}
	ev.RawPath = "/binary"
	if resp, err = h(context.Background(), ev); err != nil || resp.StatusCode != 200 || !resp.IsBase64Encoded ||
		resp.Body != base64.StdEncoding.EncodeToString(binary) {
		t.Errorf("binary response %+v, %v; want 200 and the bytes in base64", resp, err)
	}
	ev.RawPath = "/nothing"
	if resp, err = h(context.Background(), ev); err != nil || resp.StatusCode != 200 || resp.Body != "" {
		t.Errorf("empty response %+v, %v; want 200 and no body", resp, err)
	}
}

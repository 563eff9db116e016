package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStrictBodies sends bodies that a lenient decoder would take: each is
// answered 400 problem+json naming the member by its JSON pointer, in the
// API's words (no Go type or package names), and nothing is invoked.
func TestStrictBodies(t *testing.T) {
	tests := []struct {
		name, path, body string
		field, code      string
	}{
		{name: "wrong case", path: "/v1/items", body: strings.Replace(validItem, `"title"`, `"Title"`, 1),
			field: "/Title", code: "unknown-member"},
		{name: "duplicate member", path: "/v1/items", body: strings.Replace(validItem, `"title":"Bicycle"`, `"title":"Bicycle","title":"Car"`, 1),
			field: "/title", code: "duplicate-member"},
		{name: "invalid UTF-8", path: "/v1/items", body: strings.Replace(validItem, `"red"`, "\"r\xffd\"", 1),
			field: "/description", code: "invalid-utf8"},
		{name: "a fraction", path: "/v1/items", body: strings.Replace(validItem, `1000`, `1000.5`, 1),
			field: "/startingPrice", code: "type"},
		{name: "out of range", path: "/v1/items", body: strings.Replace(validItem, `1000`, `1e30`, 1),
			field: "/startingPrice", code: "type"},
		{name: "a string for an integer", path: "/v1/items", body: strings.Replace(validItem, `1000`, `"1000"`, 1),
			field: "/startingPrice", code: "type"},
		{name: "a number for a date", path: "/v1/items", body: `{"title":"x","endsAt":5}`,
			field: "/endsAt", code: "type"},
		{name: "trailing data", path: "/v1/items", body: validItem + " x", code: "syntax"},
		{name: "cut short", path: "/v1/items", body: `{"title":`, field: "/title", code: "syntax"},
		{name: "batch: the bid is named", path: "/v1/bids",
			body:  `{"bids":[{"itemId":"a","amount":1},{"itemId":"b","amount":2},{"itemId":"c","Amount":3}]}`,
			field: "/bids/2/Amount", code: "unknown-member"},
		{name: "batch: a fraction", path: "/v1/bids",
			body:  `{"bids":[{"itemId":"a","amount":1},{"itemId":"b","amount":2.5}]}`,
			field: "/bids/1/amount", code: "type"},
		{name: "duplicate member on a bid", path: "/v1/items/item-1/bids", body: `{"amount":1,"amount":2}`,
			field: "/amount", code: "duplicate-member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(t, request{method: http.MethodPost, path: tt.path, body: tt.body, auth: "Bearer " + e.token(t)})
			p := problem(t, w, http.StatusBadRequest)
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Code != tt.code {
				t.Fatalf("errors: got %+v, want one at %q with code %q", p.Errors, tt.field, tt.code)
			}
			for _, internal := range []string{"Go ", "int64", "struct", "gateway.", "jsontext", "json:"} {
				if strings.Contains(p.Detail, internal) || strings.Contains(p.Errors[0].Message, internal) {
					t.Fatalf("problem %q / %q speaks of the server's internals (%q)", p.Detail, p.Errors[0].Message, internal)
				}
			}
			if n := len(e.place.Calls()); n != 0 {
				t.Fatalf("function calls: got %d, want 0", n)
			}
		})
	}
}

// TestIntegersAsJSONSchema: an integer is any number whose value is whole,
// however it is written, as JSON Schema's "integer" says.
func TestIntegersAsJSONSchema(t *testing.T) {
	for _, spelt := range []string{`1000`, `1000.0`, `1e3`, `1.000E+3`} {
		t.Run(spelt, func(t *testing.T) {
			e := newEnv(t)
			body := strings.Replace(validItem, `1000`, spelt, 1)
			w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: body, auth: "Bearer " + e.token(t)})
			if w.Code != http.StatusAccepted {
				t.Fatalf("status: got %d, want 202; body %s", w.Code, w.Body)
			}
			calls := e.place.Calls()
			if len(calls) != 1 || calls[0].StartingPrice != 1000 {
				t.Fatalf("calls: got %+v, want one with startingPrice 1000", calls)
			}
		})
	}
}

// TestTextFieldsRefused: a name that would display as other text, or an
// address with a NUL in it, is well-formed JSON but not text people can
// read: 422, each field named, and no account.
func TestTextFieldsRefused(t *testing.T) {
	e := newEnv(t)
	body := `{"name":"Eve \u202Eevil","email":"eve@example.com","password":"correct horse",` +
		`"address":{"line1":"1 Main St","city":"Lon\u0000don","postcode":"N1","country":"GB"}}`
	p := problem(t, e.do(t, request{method: http.MethodPost, path: "/v1/users", body: body}), http.StatusUnprocessableEntity)
	got := map[string]string{}
	for _, fe := range p.Errors {
		got[fe.Field] = fe.Code
	}
	if len(got) != 2 || got["/name"] != "text" || got["/address/city"] != "text" {
		t.Fatalf("errors: got %+v, want /name and /address/city refused as text", p.Errors)
	}
	tok := e.do(t, request{method: http.MethodPost, path: "/v1/auth/token", body: `{"email":"eve@example.com","password":"correct horse"}`})
	if tok.Code != http.StatusUnauthorized {
		t.Fatalf("token for the refused account: got %d, want 401 (no account)", tok.Code)
	}
}

package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/gateway"
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
		{name: "null for a member", path: "/v1/items", body: strings.Replace(validItem, `"durationSeconds":3600`, `"durationSeconds":3600,"endsAt":null`, 1),
			field: "/endsAt", code: "type"},
		{name: "null in a batch", path: "/v1/bids", body: `{"bids":[{"itemId":"a","amount":1},{"itemId":null,"amount":2}]}`,
			field: "/bids/1/itemId", code: "type"},
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

// TestWholeNumber: exact, and quick to refuse what no int64 holds.
func TestWholeNumber(t *testing.T) {
	tests := []struct {
		raw  string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"2755", 2755, true}, {"2755.0", 2755, true}, {"2.755e3", 2755, true},
		{"27550E-1", 2755, true}, {"-1e2", -100, true}, {"0e999999999", 0, true}, {"9007199254740991.000", 9007199254740991, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"4503599627370496.5", 0, false}, {"1.5", 0, false}, {"1e-1", 0, false},
		{"9223372036854775808", 0, false}, {"1e19", 0, false}, {"1e999999", 0, false}, {"1e99999999999999999999", 0, false},
		{"1e-999999", 0, false}, {"1" + strings.Repeat("0", 50), 0, false},
	}
	for _, tt := range tests {
		got, err := gateway.WholeNumber(tt.raw)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("wholeNumber(%.30s): got %d, %v; want %d, ok %v", tt.raw, got, err, tt.want, tt.ok)
		}
	}
}

// TestIntegersAsJSONSchema: an integer is any number whose value is whole,
// however it is written, as JSON Schema's "integer" says, in every integer
// member (a pointer's too).
func TestIntegersAsJSONSchema(t *testing.T) {
	for _, spelt := range [][3]string{
		{`1000`, `5000`, `3600`}, {`1000.0`, `5000.00`, `3600.0`}, {`1e3`, `5e3`, `36e2`}, {`1.000E+3`, `0.5E4`, `360000e-2`},
	} {
		t.Run(spelt[0], func(t *testing.T) {
			e := newEnv(t)
			body := fmt.Sprintf(`{"title":"Bicycle","category":"bikes","currency":"EUR",`+
				`"startingPrice":%s,"reservePrice":%s,"durationSeconds":%s,"softClose":{"windowSeconds":%s,"maxExtensionSeconds":%[3]s}}`,
				spelt[0], spelt[1], spelt[2], spelt[2])
			w := e.do(t, request{method: http.MethodPost, path: "/v1/items", body: body, auth: "Bearer " + e.token(t)})
			if w.Code != http.StatusAccepted {
				t.Fatalf("status: got %d, want 202; body %s", w.Code, w.Body)
			}
			calls := e.place.Calls()
			if len(calls) != 1 || calls[0].StartingPrice != 1000 || calls[0].ReservePrice == nil ||
				*calls[0].ReservePrice != 5000 || calls[0].DurationSeconds != 3600 || calls[0].SoftClose == nil ||
				*calls[0].SoftClose != (schemas.SoftClose{WindowSeconds: 3600, MaxExtensionSeconds: 3600}) {
				t.Fatalf("calls: got %+v, want one with startingPrice 1000, reservePrice 5000, durationSeconds 3600 and a soft close of 3600 s", calls)
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

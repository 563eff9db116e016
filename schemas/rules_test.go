package schemas_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/auctionflow/auction/schemas"
)

// at follows a path of object keys through a decoded document.
func at(t *testing.T, doc any, path ...string) any {
	t.Helper()
	v := doc
	for i, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: got %T, want an object", strings.Join(path[:i], "/"), v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: got no %q, want one", strings.Join(path[:i], "/"), k)
		}
	}
	return v
}

// number is a decoded JSON or YAML number as an int64.
func number(t *testing.T, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			t.Fatalf("got %s, want an integer", n)
		}
		return i
	case int:
		return int64(n)
	}
	t.Fatalf("got %T %v, want a number", v, v)
	return 0
}

func jsonSchema(t *testing.T, name string) any {
	t.Helper()
	b, err := fs.ReadFile(schemas.SchemaFS(), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber() // 2^53-1 compared as written
	var doc any
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return doc
}

// TestLimitsMatchSchemas: the limits the Go code checks are the ones the
// JSON Schemas of the events and the OpenAPI document of the HTTP API
// state, so an edge function never accepts what a consumer's validator
// refuses, nor refuses what the API documents as fine.
func TestLimitsMatchSchemas(t *testing.T) {
	defs := jsonSchema(t, "defs.json")
	item := jsonSchema(t, "auction.item.placed.v1.json")
	var api any
	if err := yaml.Unmarshal(schemas.OpenAPI(), &api); err != nil {
		t.Fatalf("parse the OpenAPI document: %v", err)
	}
	apiSchemas := at(t, api, "components", "schemas")
	category := fmt.Sprintf("^[a-z0-9-]{1,%d}$", schemas.MaxCategoryLength)

	tests := []struct {
		where string
		got   any
		want  any
	}{
		{"defs.json id maxLength", number(t, at(t, defs, "$defs", "id", "maxLength")), int64(schemas.MaxIDLength)},
		{"defs.json money amount maximum", number(t, at(t, defs, "$defs", "money", "properties", "amount", "maximum")), int64(schemas.MaxAmount)},
		{"defs.json title maxLength", number(t, at(t, defs, "$defs", "title", "maxLength")), int64(schemas.MaxTitleLength)},
		{"defs.json title minLength", number(t, at(t, defs, "$defs", "title", "minLength")), int64(1)},
		{"defs.json category pattern", at(t, defs, "$defs", "category", "pattern"), category},
		{"item placed description maxLength", number(t, at(t, item, "properties", "description", "maxLength")), int64(schemas.MaxDescriptionLength)},
		{"openapi Amount maximum", number(t, at(t, apiSchemas, "Amount", "maximum")), int64(schemas.MaxAmount)},
		{"openapi PlaceItemRequest title maxLength", number(t, at(t, apiSchemas, "PlaceItemRequest", "properties", "title", "maxLength")), int64(schemas.MaxTitleLength)},
		{"openapi PlaceItemRequest description maxLength", number(t, at(t, apiSchemas, "PlaceItemRequest", "properties", "description", "maxLength")), int64(schemas.MaxDescriptionLength)},
		{"openapi PlaceItemRequest category pattern", at(t, apiSchemas, "PlaceItemRequest", "properties", "category", "pattern"), category},
		{"openapi PlaceItemRequest durationSeconds minimum", number(t, at(t, apiSchemas, "PlaceItemRequest", "properties", "durationSeconds", "minimum")), int64(schemas.MinDuration / time.Second)},
		{"openapi PlaceItemRequest durationSeconds maximum", number(t, at(t, apiSchemas, "PlaceItemRequest", "properties", "durationSeconds", "maximum")), int64(schemas.MaxDuration / time.Second)},
		{"openapi listItems category pattern", listItemsParam(t, api, "category")["pattern"], category},
		{"openapi PlaceBidsRequest itemId maxLength", number(t, at(t, apiSchemas, "PlaceBidsRequest", "properties", "bids", "items", "properties", "itemId", "maxLength")), int64(schemas.MaxIDLength)},
		{"item placed softClose windowSeconds minimum", number(t, at(t, item, "properties", "softClose", "properties", "windowSeconds", "minimum")), int64(schemas.MinSoftCloseWindow / time.Second)},
		{"item placed softClose windowSeconds maximum", number(t, at(t, item, "properties", "softClose", "properties", "windowSeconds", "maximum")), int64(schemas.MaxSoftCloseWindow / time.Second)},
		{"item placed softClose maxExtensionSeconds maximum", number(t, at(t, item, "properties", "softClose", "properties", "maxExtensionSeconds", "maximum")), int64(schemas.MaxSoftCloseExtension / time.Second)},
		{"openapi SoftClose windowSeconds minimum", number(t, at(t, apiSchemas, "SoftClose", "properties", "windowSeconds", "minimum")), int64(schemas.MinSoftCloseWindow / time.Second)},
		{"openapi SoftClose windowSeconds maximum", number(t, at(t, apiSchemas, "SoftClose", "properties", "windowSeconds", "maximum")), int64(schemas.MaxSoftCloseWindow / time.Second)},
		{"openapi SoftClose maxExtensionSeconds maximum", number(t, at(t, apiSchemas, "SoftClose", "properties", "maxExtensionSeconds", "maximum")), int64(schemas.MaxSoftCloseExtension / time.Second)},
		{"openapi RejectReason enum", fmt.Sprint(at(t, apiSchemas, "RejectReason", "enum")), fmt.Sprint(schemas.RejectReasons())},
		{"openapi Currency enum", fmt.Sprint(at(t, apiSchemas, "Currency", "enum")), fmt.Sprint(schemas.Currencies())},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v (the Go constant)", tt.where, tt.got, tt.want)
		}
	}
}

func TestKnownCurrency(t *testing.T) {
	if !slices.IsSorted(schemas.Currencies()) {
		t.Fatalf("got currencies %v, want them sorted", schemas.Currencies())
	}
	for _, c := range schemas.Currencies() {
		if !schemas.KnownCurrency(c) {
			t.Errorf("KnownCurrency(%q): got false, want true", c)
		}
	}
	for _, c := range []string{"", "XXX", "eur", "EURO"} {
		if schemas.KnownCurrency(c) {
			t.Errorf("KnownCurrency(%q): got true, want false", c)
		}
	}
}

func TestValidCategory(t *testing.T) {
	tests := []struct {
		c    string
		want bool
	}{
		{"cameras", true}, {"e-bikes", true}, {"a", true}, {strings.Repeat("a", schemas.MaxCategoryLength), true},
		{"", false}, {strings.Repeat("a", schemas.MaxCategoryLength+1), false}, {"Cameras", false}, {"cam eras", false}, {"kühl", false},
	}
	for _, tt := range tests {
		if got := schemas.ValidCategory(tt.c); got != tt.want {
			t.Errorf("ValidCategory(%q): got %v, want %v", tt.c, got, tt.want)
		}
	}
}

func TestMinIncrement(t *testing.T) {
	tests := []struct{ start, want int64 }{{1, 1}, {99, 1}, {100, 1}, {199, 1}, {200, 2}, {12345, 123}}
	for _, tt := range tests {
		if got := schemas.MinIncrement(tt.start); got != tt.want {
			t.Errorf("MinIncrement(%d): got %d, want %d", tt.start, got, tt.want)
		}
	}
}

func TestReserveMet(t *testing.T) {
	eur := func(n int64) *schemas.Money { return &schemas.Money{Amount: n, Currency: "EUR"} }
	tests := []struct {
		name             string
		reserve, highest *schemas.Money
		want             bool
	}{
		{"no reserve, no bid", nil, nil, true},
		{"no reserve", nil, eur(1), true},
		{"a reserve, no bid", eur(100), nil, false},
		{"below the reserve", eur(100), eur(99), false},
		{"at the reserve", eur(100), eur(100), true},
		{"above the reserve", eur(100), eur(101), true},
	}
	for _, tt := range tests {
		if got := schemas.ReserveMet(tt.reserve, tt.highest); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBidTiming(t *testing.T) {
	endsAt := time.Date(2030, 3, 14, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		placedAt time.Time
		closed   bool
		want     schemas.RejectReason
	}{
		{"in time, open", endsAt.Add(-time.Nanosecond), false, ""},
		{"at endsAt, open (within the grace period)", endsAt, false, schemas.ReasonTooLate},
		{"after endsAt, open", endsAt.Add(time.Second), false, schemas.ReasonTooLate},
		{"after endsAt, closed: late all the same", endsAt.Add(time.Second), true, schemas.ReasonTooLate},
		{"in time, but after the close", endsAt.Add(-time.Second), true, schemas.ReasonAuctionClosed},
	}
	for _, tt := range tests {
		got, detail := schemas.BidTiming(tt.placedAt, endsAt, tt.closed)
		if got != tt.want || (got == "") != (detail == "") {
			t.Errorf("%s: got %q %q, want %q with a detail if refused", tt.name, got, detail, tt.want)
		}
	}
}

func TestBidOwnItem(t *testing.T) {
	if r, d := schemas.BidOwnItem("u-1", "u-1"); r != schemas.ReasonOwnItem || d == "" {
		t.Errorf("the seller bidding: got %q %q, want %q with a detail", r, d, schemas.ReasonOwnItem)
	}
	if r, d := schemas.BidOwnItem("u-2", "u-1"); r != "" || d != "" {
		t.Errorf("another bidder: got %q %q, want none", r, d)
	}
}

func TestIsRejectReason(t *testing.T) {
	for _, r := range schemas.RejectReasons() {
		if !schemas.IsRejectReason(string(r)) {
			t.Errorf("IsRejectReason(%q): got false, want true", r)
		}
	}
	for _, c := range []string{"", "minimum", "unknown_user", "TOO_LATE"} {
		if schemas.IsRejectReason(c) {
			t.Errorf("IsRejectReason(%q): got true, want false", c)
		}
	}
}

// TestTextRuleMatchesSchema holds TextFault, which the edge applies, to the
// OpenAPI document's Text pattern, which clients read: the same verdict on
// every Unicode scalar value, alone and inside ordinary text.
func TestTextRuleMatchesSchema(t *testing.T) {
	var api any
	if err := yaml.Unmarshal(schemas.OpenAPI(), &api); err != nil {
		t.Fatalf("parse the OpenAPI document: %v", err)
	}
	pattern, ok := at(t, api, "components", "schemas", "Text", "pattern").(string)
	if !ok {
		t.Fatal("the OpenAPI document's Text schema has no pattern")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("compile the Text pattern: %v", err)
	}
	refused := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := "Bicycle " + string(r) + " red"
		_, bad := schemas.TextFault(s)
		if re.MatchString(s) == bad {
			t.Errorf("%U: TextFault refuses it %v, the pattern matches it %v", r, bad, !bad)
		}
		if bad {
			refused++
		}
	}
	// 29 C0 controls (32 less tab, line feed and carriage return), DEL, 32
	// C1 controls and 5 + 4 bidi controls.
	if refused != 29+1+32+9 {
		t.Errorf("refused %d characters, want %d", refused, 29+1+32+9)
	}
	for _, s := range []string{"", "Two\tcolumns", "Line one\r\nline two", "Café — 40 €", "مرحبا", "\u200f"} {
		if r, bad := schemas.TextFault(s); bad {
			t.Errorf("TextFault(%q): refuses %U, want it accepted", s, r)
		}
	}
}

// listItemsParam is the schema of a query parameter of GET /v1/items.
func listItemsParam(t *testing.T, api any, name string) map[string]any {
	t.Helper()
	params, _ := at(t, api, "paths", "/v1/items", "get", "parameters").([]any)
	for _, p := range params {
		if m, ok := p.(map[string]any); ok && m["name"] == name {
			s, _ := m["schema"].(map[string]any)
			return s
		}
	}
	t.Fatalf("GET /v1/items has no parameter %q", name)
	return nil
}

// TestMoneyString: amounts read in the currency's major unit, as people
// write them, never as minor units with a code.
func TestMoneyString(t *testing.T) {
	for _, tt := range []struct {
		m    schemas.Money
		want string
	}{
		{schemas.Money{Amount: 6200, Currency: "EUR"}, "€62.00"},
		{schemas.Money{Amount: 5, Currency: "EUR"}, "€0.05"},
		{schemas.Money{Amount: 0, Currency: "USD"}, "$0.00"},
		{schemas.Money{Amount: 125000, Currency: "GBP"}, "£1,250.00"},
		{schemas.Money{Amount: 123456789, Currency: "USD"}, "$1,234,567.89"},
		{schemas.Money{Amount: 5000, Currency: "JPY"}, "¥5,000"},
		{schemas.Money{Amount: 999, Currency: "KRW"}, "₩999"},
		{schemas.Money{Amount: 1990, Currency: "CHF"}, "CHF 19.90"},
		{schemas.Money{Amount: -150, Currency: "SEK"}, "-SEK 1.50"},
		{schemas.Money{Amount: schemas.MaxAmount, Currency: "EUR"}, "€90,071,992,547,409.91"},
	} {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%d %s: got %q, want %q", tt.m.Amount, tt.m.Currency, got, tt.want)
		}
	}
	// Every currency the platform trades in has its ISO 4217 minor unit.
	for _, c := range schemas.Currencies() {
		want := 2
		if c == "JPY" || c == "KRW" {
			want = 0
		}
		if got := schemas.MinorDigits(c); got != want {
			t.Errorf("MinorDigits(%s): got %d, want %d", c, got, want)
		}
	}
}

// TestSoftCloseEnd: a bid placed in the last window before the end moves it
// one window later, never past the cap; outside the window, or with no
// soft close, the end stays.
func TestSoftCloseEnd(t *testing.T) {
	placedEnd := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	sc := &schemas.SoftClose{WindowSeconds: 60, MaxExtensionSeconds: 150}
	at := func(s int) time.Time { return placedEnd.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name          string
		sc            *schemas.SoftClose
		endsAt, bidAt time.Time
		want          time.Time
		moved         bool
	}{
		{"no soft close", nil, at(0), at(-1), at(0), false},
		{"before the window", sc, at(0), at(-61), at(0), false},
		{"the window's first instant", sc, at(0), at(-60), at(60), true},
		{"the last instant before the end", sc, at(0), placedEnd.Add(-time.Nanosecond), at(60), true},
		{"at the end: too late, nothing moves", sc, at(0), at(0), at(0), false},
		{"after a move, in its window", sc, at(60), at(30), at(120), true},
		{"up to the cap only", sc, at(120), at(90), at(150), true},
		{"at the cap", sc, at(150), at(149), at(150), false},
	}
	for _, tt := range tests {
		got, moved := schemas.SoftCloseEnd(tt.sc, placedEnd, tt.endsAt, tt.bidAt)
		if !got.Equal(tt.want) || moved != tt.moved {
			t.Errorf("%s: got %v, %v; want %v, %v", tt.name, got, moved, tt.want, tt.moved)
		}
	}
	if got := schemas.LatestEnd(sc, placedEnd); !got.Equal(at(150)) {
		t.Errorf("LatestEnd: got %v, want %v", got, at(150))
	}
	if got := schemas.LatestEnd(nil, placedEnd); !got.Equal(placedEnd) {
		t.Errorf("LatestEnd without a soft close: got %v, want %v", got, placedEnd)
	}
}

func TestSoftCloseFault(t *testing.T) {
	for _, tt := range []struct {
		sc schemas.SoftClose
		ok bool
	}{
		{schemas.SoftClose{WindowSeconds: 10, MaxExtensionSeconds: 10}, true},
		{schemas.SoftClose{WindowSeconds: 3600, MaxExtensionSeconds: 86400}, true},
		{schemas.SoftClose{WindowSeconds: 9, MaxExtensionSeconds: 60}, false},
		{schemas.SoftClose{WindowSeconds: 3601, MaxExtensionSeconds: 86400}, false},
		{schemas.SoftClose{WindowSeconds: 60, MaxExtensionSeconds: 59}, false},
		{schemas.SoftClose{WindowSeconds: 60, MaxExtensionSeconds: 86401}, false},
		// Counts whose Durations would overflow into range.
		{schemas.SoftClose{WindowSeconds: 1<<62 + 60, MaxExtensionSeconds: 1<<62 + 60}, false},
		{schemas.SoftClose{WindowSeconds: 60, MaxExtensionSeconds: 1 << 62}, false},
	} {
		if got := schemas.SoftCloseFault(tt.sc) == ""; got != tt.ok {
			t.Errorf("SoftCloseFault(%+v): got ok=%v, want %v", tt.sc, got, tt.ok)
		}
	}
}

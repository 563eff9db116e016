package schemas_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auctionflow/auction/schemas"
)

// TestChecksCompile: every event type's schema compiles to a check (a
// schema with a keyword the checks do not know would leave its type to the
// library alone, correct but slow), and the check says yes to the type's
// golden payload.
func TestChecksCompile(t *testing.T) {
	v := newValidator(t)
	for _, typ := range schemas.Types() {
		golden := readGolden(t, typ)
		if got := v.Check(typ, golden); got != "yes" {
			t.Errorf("Check(%s, golden) = %q, want yes", typ, got)
		}
	}
}

// TestCheckAgrees validates mutants of every golden payload (each member
// replaced by values at and beyond the schemas' limits, removed, or joined
// by an unknown one) with the checks and with the library alone: the two
// must give the same answer, error included. It also counts the mutants
// the library accepts that the check leaves to it, which must be only
// those whose numbers are not plain int64s or whose timestamps hold a leap
// second.
func TestCheckAgrees(t *testing.T) {
	v := newValidator(t)
	lib := v.Library()
	for _, typ := range schemas.Types() {
		t.Run(typ, func(t *testing.T) {
			var doc any
			dec := json.NewDecoder(bytes.NewReader(readGolden(t, typ)))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			var valid, decided int
			for _, m := range mutants(doc) {
				data, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				got, want := v.Validate(typ, data), lib.Validate(typ, data)
				if errString(got) != errString(want) {
					t.Fatalf("Validate(%s) = %v, library alone %v", data, got, want)
				}
				if want == nil {
					valid++
					switch v.Check(typ, data) {
					case "yes":
						decided++
					case "no":
						t.Errorf("Check(%s) = no, the library accepts it", data)
					default:
						if !leftToLibrary(data) {
							t.Errorf("Check(%s) = unsure, want yes", data)
						}
					}
				}
			}
			if decided == 0 {
				t.Errorf("the check decided none of %d valid mutants", valid)
			}
			t.Logf("%d valid mutants, %d decided by the check", valid, decided)
		})
	}
}

// oddDocuments are bids written as no encoder of the platform writes them:
// escapes, whitespace, duplicate keys, bytes that are not UTF-8, trailing
// data. Each must get the library's answer.
var oddDocuments = []string{
	`{"bidId":"b\u0031","itemId":"i1","bidder":{"id":"u1","name":"A\"B"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	` { "bidId" : "b1" , "itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z" } ` + "\n",
	`{"bidId":"","bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	`{"bidId":"b1","bidId":"","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	"{\"bidId\":\"b\xff\",\"itemId\":\"i1\",\"bidder\":{\"id\":\"u1\",\"name\":\"A\"},\"amount\":{\"amount\":1,\"currency\":\"EUR\"},\"placedAt\":\"2031-05-01T12:00:00Z\"}",
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}x`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}{}`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":01,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1e0,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A","location":"\u0047B"},"amount":{"amount":-0,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z",}`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"`,
	`{"bidId":"b1","itemId":"i1","bidder":{"id":"u1","name":"A\u0000"},"amount":{"amount":1,"currency":"EUR"},"placedAt":"2031-05-01T12:00:00Z"}`,
	"{\"bidId\":\"b1\",\"itemId\":\"i1\",\"bidder\":{\"id\":\"u1\",\"name\":\"A\tB\"},\"amount\":{\"amount\":1,\"currency\":\"EUR\"},\"placedAt\":\"2031-05-01T12:00:00Z\"}",
	`[]`, `"x"`, `null`, ``, `{`, `{"a":[[[[[[[[[[1]]]]]]]]]]}`,
}

// TestCheckAgreesOnOddJSON: the checks and the library give the same
// answer on each of oddDocuments.
func TestCheckAgreesOnOddJSON(t *testing.T) {
	v := newValidator(t)
	lib := v.Library()
	for _, doc := range oddDocuments {
		got, want := v.Validate(schemas.TypeBidPlaced, []byte(doc)), lib.Validate(schemas.TypeBidPlaced, []byte(doc))
		if errString(got) != errString(want) {
			t.Errorf("Validate(%q) = %v, library alone %v", doc, got, want)
		}
	}
	// Escapes and whitespace are valid JSON: the check decides them.
	for _, doc := range oddDocuments[:2] {
		if got := v.Check(schemas.TypeBidPlaced, []byte(doc)); got != "yes" {
			t.Errorf("Check(%q) = %q, want yes", doc, got)
		}
	}
}

// leftToLibrary reports whether data holds what a check may leave to the
// library: a number in a form strconv.ParseInt refuses, or a leap second.
func leftToLibrary(data []byte) bool {
	for _, s := range []string{"1.0", "1e2", "99999999999999999999", ":60Z"} {
		if bytes.Contains(data, []byte(s)) {
			return true
		}
	}
	return false
}

// FuzzCheck holds the checks to the library on arbitrary data of every
// type: `go test -fuzz FuzzCheck ./schemas/`.
func FuzzCheck(f *testing.F) {
	v, err := schemas.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	lib := v.Library()
	types := schemas.Types()
	for i, typ := range types {
		data, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), data)
	}
	for _, doc := range oddDocuments {
		f.Add(uint8(slices.Index(types, schemas.TypeBidPlaced)), []byte(doc))
	}
	f.Fuzz(func(t *testing.T, i uint8, data []byte) {
		typ := types[int(i)%len(types)]
		got, want := v.Validate(typ, data), lib.Validate(typ, data)
		if errString(got) != errString(want) {
			t.Fatalf("Validate(%s, %q) = %v, library alone %v", typ, data, got, want)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func readGolden(t *testing.T, typ string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// edgeValues are values at and beyond the limits the schemas set.
func edgeValues() []any {
	long := func(n int) string { return strings.Repeat("é", n) }
	num := func(s string) any { return json.Number(s) }
	return []any{
		"", "a", long(40), long(41), long(120), long(121), long(128), long(129), long(200), long(201),
		long(1000), long(1001), "EUR", "eur", "EURO", "GB", "GB-LON", "gb-lon", "GB-LOND",
		"unknown_item", "too_late", "outbid", "won", "email", "inbox", "/a/b~0", "/a~2", "~", "x y",
		"2031-05-01T12:00:00Z", "2031-05-01T12:00:00.123456789+02:00", "2032-02-29T00:00:00Z",
		"2031-02-29T00:00:00Z", "2031-12-31T23:59:60Z", "2031-05-01t12:00:00z", "2031-05-01T24:00:00Z",
		"2031-05-01T12:00:00+24:00", "2031-05-01T12:00:00", "2031-5-1T12:00:00Z",
		num("0"), num("1"), num("-1"), num("-0"), num("1.0"), num("1e2"), num("0.5"), num("59"),
		num("60"), num("86400"), num("9007199254740991"), num("9007199254740992"),
		num("99999999999999999999"), true, false, nil,
		map[string]any{}, []any{}, []any{"a"}, []any{"a", "a"}, []any{"a", "b"}, []any{num("1"), num("1")},
	}
}

// mutants returns copies of doc, each changed in one place.
func mutants(doc any) []any {
	var out []any
	var walk func(node any, replace func(any) any)
	walk = func(node any, replace func(any) any) {
		for _, val := range edgeValues() {
			out = append(out, replace(val))
		}
		switch x := node.(type) {
		case map[string]any:
			out = append(out, replace(with(x, "zz", "extra")))
			for name, val := range x {
				out = append(out, replace(without(x, name)))
				walk(val, func(nv any) any { return replace(with(x, name, nv)) })
			}
		case []any:
			for i, val := range x {
				walk(val, func(nv any) any {
					c := append([]any(nil), x...)
					c[i] = nv
					return replace(c)
				})
			}
		}
	}
	walk(doc, func(v any) any { return v })
	return out
}

func with(m map[string]any, name string, val any) map[string]any {
	c := make(map[string]any, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	c[name] = val
	return c
}

func without(m map[string]any, name string) map[string]any {
	c := with(m, name, nil)
	delete(c, name)
	return c
}

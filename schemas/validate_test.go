package schemas_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/auctionflow/auction/schemas"
)

// failure is a FieldError without its message: messages are the library's
// wording and free to change, pointers and codes are the contract.
type failure struct{ Field, Code string }

func failures(t *testing.T, err error) []failure {
	t.Helper()
	var verr *schemas.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v (%T), want a *schemas.ValidationError", err, err)
	}
	var out []failure
	for _, fe := range verr.Errors {
		if fe.Message == "" {
			t.Errorf("%s %s: empty message", fe.Field, fe.Code)
		}
		out = append(out, failure{fe.Field, fe.Code})
	}
	return out
}

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		file      string // under testdata/invalid/
		eventType string
		want      []failure // sorted by Field, then Code
	}{
		{"item-placed-missing-title", schemas.TypeItemPlaced, []failure{
			{"/title", "required"},
		}},
		{"item-placed-bad-money", schemas.TypeItemPlaced, []failure{
			{"/category", "pattern"},
			{"/minIncrement/amount", "minimum"},
			{"/seller/location", "pattern"},
			{"/startingPrice/amount", "minimum"},
			{"/startingPrice/currency", "pattern"},
		}},
		{"bid-placed-float-amount", schemas.TypeBidPlaced, []failure{
			{"/amount/amount", "type"},
		}},
		{"bid-placed-unknown-field", schemas.TypeBidPlaced, []failure{
			{"/bidder/email", "additionalProperties"},
			{"/maxAmount", "additionalProperties"},
		}},
		{"close-due-bad-time", schemas.TypeCloseDue, []failure{
			{"/closeAt", "format"},
			{"/endsAt", "pattern"}, // RFC 3339 allows a lowercase t and z; Go does not
			{"/itemId", "minLength"},
		}},
		{"bid-rejected-unknown-reason", schemas.TypeBidRejected, []failure{
			{"/reason", "enum"},
		}},
		{"item-completed-sold-without-winner", schemas.TypeItemCompleted, []failure{
			{"/bidders", "uniqueItems"},
			{"/price", "required"},
			{"/winnerId", "required"},
		}},
		{"notification-sent-null-channels", schemas.TypeNotificationSent, []failure{
			{"/channels", "type"},
			{"/kind", "enum"},
		}},
		{"event-rejected-no-reasons", schemas.TypeEventRejected, []failure{
			{"/reasons", "minItems"},
		}},
	}
	v := newValidator(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "invalid", tt.file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			err = v.Validate(tt.eventType, data)
			if got := failures(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("Validate(%s) failures = %v, want %v", tt.eventType, got, tt.want)
			}
			var verr *schemas.ValidationError
			if errors.As(err, &verr) && verr.Type != tt.eventType {
				t.Errorf("ValidationError.Type = %q, want %q", verr.Type, tt.eventType)
			}
		})
	}
}

// TestValidateValid covers the optional parts the golden payloads leave out
// or set differently.
func TestValidateValid(t *testing.T) {
	tests := []struct {
		name      string
		eventType string
		data      string
	}{
		{"item placed without optional fields", schemas.TypeItemPlaced, `{
			"itemId": "i1", "seller": {"id": "u1", "name": "Ann"},
			"title": "Kettle", "category": "kitchen",
			"startingPrice": {"amount": 0, "currency": "EUR"},
			"minIncrement": {"amount": 1, "currency": "EUR"},
			"endsAt": "2025-03-21T18:00:00+01:00", "placedAt": "2025-03-14T09:12:45Z"}`},
		{"item unsold without bids", schemas.TypeItemCompleted, `{
			"itemId": "i1", "sellerId": "u1", "title": "Kettle", "category": "kitchen",
			"sold": false, "reserveMet": true, "bidCount": 0, "bidders": [],
			"endsAt": "2025-03-21T18:00:00Z", "closedAt": "2025-03-21T18:00:30Z"}`},
		{"whole payload refused", schemas.TypeEventRejected, `{
			"kind": "item",
			"reasons": [{"field": "", "code": "malformed", "message": "not a JSON document: unexpected EOF"}],
			"rejectedAt": "2025-03-21T17:58:02Z"}`},
	}
	v := newValidator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := v.Validate(tt.eventType, []byte(tt.data)); err != nil {
				t.Errorf("Validate(%s) = %v, want nil", tt.eventType, err)
			}
		})
	}
}

func TestValidateUnknownType(t *testing.T) {
	v := newValidator(t)
	for _, typ := range []string{"", "auction.bid.placed.v2", "auction.bid.placed"} {
		err := v.Validate(typ, []byte(`{}`))
		if !errors.Is(err, schemas.ErrUnknownType) {
			t.Errorf("Validate(%q) = %v, want an error wrapping ErrUnknownType", typ, err)
		}
		var verr *schemas.ValidationError
		if errors.As(err, &verr) {
			t.Errorf("Validate(%q) = %v, a *ValidationError, want no ValidationError for an unknown type", typ, err)
		}
	}
}

func TestValidateMalformed(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"truncated", `{"itemId": "i1"`},
		{"not JSON", `itemId=i1`},
		{"trailing data", `{"itemId": "i1"} {}`},
	}
	v := newValidator(t)
	want := []failure{{"", "malformed"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate(schemas.TypeCloseDue, []byte(tt.data))
			if got := failures(t, err); !slices.Equal(got, want) {
				t.Errorf("Validate(%q) failures = %v, want %v", tt.data, got, want)
			}
		})
	}
}

// TestValidateConcurrent shares one Validator between goroutines, as a
// consumer does across partitions; run it with -race.
func TestValidateConcurrent(t *testing.T) {
	v := newValidator(t)
	goldens := make(map[string][]byte)
	for _, typ := range schemas.Types() {
		data, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
		if err != nil {
			t.Fatal(err)
		}
		goldens[typ] = data
	}
	invalid, err := os.ReadFile(filepath.Join("testdata", "invalid", "item-placed-bad-money.json"))
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for typ, data := range goldens {
					if err := v.Validate(typ, data); err != nil {
						t.Errorf("Validate(%s golden) = %v", typ, err)
					}
				}
				var verr *schemas.ValidationError
				if err := v.Validate(schemas.TypeItemPlaced, invalid); !errors.As(err, &verr) || len(verr.Errors) != 5 {
					t.Errorf("Validate(invalid item) = %v, want 5 field errors", err)
				}
			}
		})
	}
	wg.Wait()
}

func ExampleValidator_Validate() {
	v, err := schemas.NewValidator()
	if err != nil {
		log.Fatal(err)
	}
	bid := []byte(`{
		"bidId": "b-1", "itemId": "i-1",
		"bidder": {"id": "u-1", "name": "Ann"},
		"amount": {"amount": 12.50, "currency": "eur"},
		"placedAt": "2025-03-21T17:59:58Z"
	}`)

	err = v.Validate(schemas.TypeBidPlaced, bid)
	var verr *schemas.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			fmt.Printf("%s %s: %s\n", fe.Field, fe.Code, fe.Message)
		}
	}
	// Output:
	// /amount/amount type: got number, want integer
	// /amount/currency pattern: 'eur' does not match pattern '^[A-Z]{3}$'
}

package gateway

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/auctionflow/auction/schemas"
)

// maxBody is the largest request body the API reads; the batch endpoint
// raises it.
const maxBody = 64 << 10

// decodeJSON reads a JSON body as strictly as the OpenAPI document
// describes it: the right content type, one value, no more than limit
// bytes, valid UTF-8, no member named twice, and only the members the
// request has, spelt exactly (the JSON Schemas are case-sensitive, so
// "Amount" is not "amount"). An integer is any number without a fractional
// part, as JSON Schema defines it: 2755.0 and 2.755e3 are 2755. On failure
// it has already answered with a problem naming the member (a JSON pointer,
// with the index of a batch's bid) and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"send the body as application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "too-large",
			fmt.Sprintf("the body must be at most %d bytes", tooBig.Limit))
		return false
	case err != nil:
		writeProblem(w, r, http.StatusBadRequest, "malformed", "the body could not be read")
		return false
	}
	if err := json.Unmarshal(body, v, strict); err != nil {
		fe := decodeError(err)
		writeProblem(w, r, http.StatusBadRequest, "malformed", "malformed JSON body: "+fe.Message, fe)
		return false
	}
	return true
}

// strict is how request bodies decode, with go-json-experiment/json: the
// Go project's encoding/json/v2 as a module (the standard library carries
// it only behind GOEXPERIMENT=jsonv2), whose errors say where in the body
// they are. Unknown and duplicate members are errors, names match exactly
// (both that package's defaults, said here so a reader need not know them),
// a null is refused wherever it stands, and integers are JSON Schema's.
var strict = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.MatchCaseInsensitiveNames(false),
	json.WithUnmarshalers(json.JoinUnmarshalers(
		json.UnmarshalFromFunc(refuseNull),
		json.UnmarshalFromFunc(decodeInteger),
		json.UnmarshalFromFunc(decodeInt),
	)),
)

// errNotInteger and errOutOfRange are what decodeInteger refuses, errNull
// what refuseNull does.
var (
	errNotInteger = errors.New("must be an integer")
	errOutOfRange = errors.New("is out of range")
	errNull       = errors.New("must not be null (leave the member out instead)")
)

// refuseNull refuses a null for any value, in the one decoding pass: no
// request schema allows one, and decoding would read it as the member left
// out. Any other value goes on to the next decoder (json.SkipFunc).
func refuseNull(dec *jsontext.Decoder, _ any) error {
	if dec.PeekKind() == 'n' {
		return &json.SemanticError{JSONKind: 'n', Err: errNull}
	}
	return json.SkipFunc
}

// decodeInteger reads a JSON number into an int64 when its value is a
// whole number, whatever its spelling.
func decodeInteger(dec *jsontext.Decoder, v *int64) error {
	if dec.PeekKind() != '0' {
		return json.SkipFunc // not a number: the default reports the type
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	n, err := wholeNumber(tok.String())
	if err != nil {
		return &json.SemanticError{JSONKind: '0', Err: err}
	}
	*v = n
	return nil
}

// decodeInt is decodeInteger for an int field (an int is 64 bits on every
// platform the project builds for).
func decodeInt(dec *jsontext.Decoder, v *int) error {
	var n int64
	if err := decodeInteger(dec, &n); err != nil {
		return err
	}
	*v = int(n)
	return nil
}

// wholeNumber is the int64 that a JSON number denotes, if it is whole.
// Exact (no float64 rounding: 4503599627370496.5 is not an integer), and
// bounded: an int64 has 19 digits, so a number spelt with more than 40
// characters before its exponent or an exponent beyond ±40 is out of range
// (or zero) without the arithmetic, which for 1e999999 would take a
// million-digit power of ten.
func wholeNumber(raw string) (int64, error) {
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return n, nil
	}
	mantissa, exp := raw, 0
	if i := strings.IndexAny(raw, "eE"); i >= 0 {
		mantissa = raw[:i]
		e, err := strconv.Atoi(raw[i+1:])
		if err != nil { // more digits than an int holds
			e = math.MaxInt
		}
		exp = e
	}
	if len(mantissa) > 40 || exp > 40 || exp < -40 {
		if strings.Trim(mantissa, "-0.") == "" {
			return 0, nil
		}
		return 0, errOutOfRange
	}
	n, ok := new(big.Rat).SetString(raw)
	switch {
	case !ok || !n.IsInt():
		return 0, errNotInteger
	case !n.Num().IsInt64() || n.Num().Int64() == math.MinInt64:
		return 0, errOutOfRange
	}
	return n.Num().Int64(), nil
}

// decodeError describes a decoding failure for the client: where (a JSON
// pointer), what kind, and a message in the API's terms, without the
// server's type names.
func decodeError(err error) schemas.FieldError {
	var (
		syn *jsontext.SyntacticError
		sem *json.SemanticError
	)
	switch {
	case errors.As(err, &syn):
		fe := schemas.FieldError{Field: string(syn.JSONPointer), Code: "syntax"}
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			fe.Code, fe.Message = "duplicate-member", fmt.Sprintf("member %q appears more than once", lastToken(syn.JSONPointer))
		case strings.Contains(syn.Error(), "invalid UTF-8"):
			fe.Code, fe.Message = "invalid-utf8", "text must be valid UTF-8"
		case errors.Is(syn.Err, io.ErrUnexpectedEOF):
			fe.Message = "the body ends before the JSON value does"
		default:
			fe.Message = strings.TrimPrefix(syn.Err.Error(), "jsontext: ")
			if strings.Contains(fe.Message, "after top-level value") {
				fe.Message = "trailing data after the JSON value"
			}
		}
		if fe.Message == "" {
			fe.Message = "invalid JSON"
		}
		fe.Message += fmt.Sprintf(" (at byte %d)", syn.ByteOffset)
		return fe
	case errors.As(err, &sem):
		fe := schemas.FieldError{Field: string(sem.JSONPointer)}
		switch {
		case errors.Is(sem.Err, json.ErrUnknownName):
			fe.Code = "unknown-member"
			fe.Message = fmt.Sprintf("unknown member %q (names are case-sensitive)", lastToken(sem.JSONPointer))
		case errors.Is(sem.Err, errNotInteger), errors.Is(sem.Err, errOutOfRange), errors.Is(sem.Err, errNull):
			fe.Code, fe.Message = "type", fmt.Sprintf("%s %s", memberName(sem.JSONPointer), sem.Err)
		default:
			fe.Code, fe.Message = "type", fmt.Sprintf("%s must be %s", memberName(sem.JSONPointer), kindOf(sem.GoType))
		}
		return fe
	}
	return schemas.FieldError{Code: "syntax", Message: "invalid JSON"}
}

// lastToken is the last reference token of a JSON pointer: a member name.
func lastToken(p jsontext.Pointer) string {
	s := string(p)
	s = s[strings.LastIndexByte(s, '/')+1:]
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
}

func memberName(p jsontext.Pointer) string {
	if p == "" {
		return "the body"
	}
	return string(p)
}

var timeType = reflect.TypeFor[time.Time]()

// kindOf names what a value of t is in the API's terms.
func kindOf(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "of another type"
	}
	if t == timeType {
		return "an RFC 3339 date-time string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

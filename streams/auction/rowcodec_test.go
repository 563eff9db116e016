package auction_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/streams/auction"
)

// fill sets every exported field reachable from v to a value of its own,
// none of them zero: slices get two elements, pointers a value.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			zone := time.UTC
			if *n%2 == 0 {
				zone = time.FixedZone("", (*n%14-7)*3600)
			}
			v.Set(reflect.ValueOf(time.Date(2030, 1, 2, 3, 4, 5, *n*1001, zone)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), n)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-ünïcode", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n) * 1_000_003)
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic(fmt.Sprintf("fill: no value for %s", v.Type()))
	}
}

// TestRowCodecEveryField: a row with every field set, down to the item's
// reserve and each verdict's offset, decodes to what was encoded. A field
// added to State, or to a type it holds, that the binary codec leaves out
// fails here.
func TestRowCodecEveryField(t *testing.T) {
	var s auction.State
	n := 0
	fill(reflect.ValueOf(&s).Elem(), &n)
	got, size := rowRoundTrip(t, s)
	// JSON writes every field (none is hidden from it) and times as instant
	// and offset: the same text is the same row.
	want, _ := json.Marshal(&s)
	have, _ := json.Marshal(got)
	if !bytes.Equal(have, want) {
		t.Fatalf("decoded row differs:\n got %s\nwant %s", have, want)
	}
	t.Logf("%d fields: %d bytes binary, %d bytes JSON", n, size, len(want))
}

// rowRoundTrip encodes s with the table codec and decodes it again; size is
// the encoded row's.
func rowRoundTrip(t *testing.T, s auction.State) (got *auction.State, size int) {
	t.Helper()
	row, err := auction.RowCodec.Encode(&s)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	v, err := auction.RowCodec.Decode(row)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v.(*auction.State), len(row)
}

// TestRowCodecEmpty: nil and empty stay apart where JSON keeps them apart
// (a completion's bidders is [] for an auction nobody bid on, never null),
// and the zero time stays zero.
func TestRowCodecEmpty(t *testing.T) {
	for _, s := range []auction.State{
		{},
		{Status: auction.StatusClosed, Result: &schemas.ItemCompleted{ItemID: "i", Bidders: []string{}, EndsAt: time.Unix(1, 0).UTC()}, Version: 3},
	} {
		if got, _ := rowRoundTrip(t, s); !reflect.DeepEqual(*got, s) {
			t.Fatalf("got %+v, want %+v", *got, s)
		}
	}
}

// TestRowCodecReadsJSONRows: rows written as JSON, as earlier versions
// wrote the table, still decode.
func TestRowCodecReadsJSONRows(t *testing.T) {
	item := goldenItem(t)
	s := openWith(t, item, mkBid(item, "bid-1", "usr_1", item.StartingPrice.Amount, item.EndsAt.Add(-time.Hour)))
	old, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := auction.RowCodec.Decode(old)
	if err != nil {
		t.Fatalf("decode a JSON row: %v", err)
	}
	if have, _ := json.Marshal(got); !bytes.Equal(have, old) {
		t.Fatalf("got %s, want %s", have, old)
	}
}

// TestRowCodecReadsV1Rows: a row written in version 1 (testdata/row-v1.bin,
// every field of that version set; row-v1.json is the same state) still
// decodes, with none of the fields version 2 added.
func TestRowCodecReadsV1Rows(t *testing.T) {
	row, err := os.ReadFile("testdata/row-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/row-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auction.RowCodec.Decode(row)
	if err != nil {
		t.Fatalf("decode a version 1 row: %v", err)
	}
	var w auction.State
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if got := v.(*auction.State); !reflect.DeepEqual(*got, w) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("got %s\nwant %s", g, want)
	}
}

// FuzzDecodeRow: no input makes the decoder panic or allocate without
// bound, and whatever it accepts, encoded again, decodes to the same row.
func FuzzDecodeRow(f *testing.F) {
	var s auction.State
	n := 0
	fill(reflect.ValueOf(&s).Elem(), &n)
	full, _ := auction.RowCodec.Encode(&s)
	empty, _ := auction.RowCodec.Encode(&auction.State{})
	f.Add(full)
	f.Add(empty)
	f.Add(full[:len(full)/2])
	f.Add(append([]byte{0xb1}, full[1:]...))
	f.Add([]byte{0xb1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := auction.RowCodec.Decode(b)
		if err != nil || b[0] == '{' {
			return
		}
		again, err := auction.RowCodec.Encode(v)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if w, _ := auction.RowCodec.Decode(again); !reflect.DeepEqual(w, v) {
			t.Fatalf("decode(encode(%+v)) = %+v", v, w)
		}
	})
}

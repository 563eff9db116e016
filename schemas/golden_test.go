package schemas_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/auctionflow/auction/schemas"
)

// dataTypes maps every event type to a constructor of a pointer to its Go
// data struct. It lives in the test, not the package, because production code
// decodes into the concrete type it expects (schemas.Data[T]).
func dataTypes() map[string]func() any {
	return map[string]func() any{
		schemas.TypeItemPlaced:       func() any { return new(schemas.ItemPlaced) },
		schemas.TypeBidPlaced:        func() any { return new(schemas.BidPlaced) },
		schemas.TypeCloseDue:         func() any { return new(schemas.CloseDue) },
		schemas.TypeItemExtended:     func() any { return new(schemas.ItemExtended) },
		schemas.TypeBidAccepted:      func() any { return new(schemas.BidAccepted) },
		schemas.TypeBidRejected:      func() any { return new(schemas.BidRejected) },
		schemas.TypeItemCompleted:    func() any { return new(schemas.ItemCompleted) },
		schemas.TypeNotificationSent: func() any { return new(schemas.NotificationSent) },
		schemas.TypeAnalyticsCounted: func() any { return new(schemas.AnalyticsCounted) },
		schemas.TypeEventRejected:    func() any { return new(schemas.EventRejected) },
	}
}

func TestDataTypesCoverTypes(t *testing.T) {
	got := slices.Sorted(maps.Keys(dataTypes()))
	want := slices.Sorted(slices.Values(schemas.Types()))
	if !slices.Equal(got, want) {
		t.Errorf("dataTypes() keys = %v, want Types() %v", got, want)
	}
}

// TestGolden checks that each golden payload is valid and that the Go struct
// carries every field of it: a field the struct lacked would be dropped by
// every Go consumer although the schema allows it.
func TestGolden(t *testing.T) {
	v := newValidator(t)
	for _, typ := range schemas.Types() {
		t.Run(typ, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Validate(typ, golden); err != nil {
				t.Fatalf("Validate(golden) = %v, want nil", err)
			}

			newData, ok := dataTypes()[typ]
			if !ok {
				t.Fatalf("no Go type for %s in dataTypes()", typ)
			}
			data := newData()
			dec := json.NewDecoder(bytes.NewReader(golden))
			dec.DisallowUnknownFields()
			if err := dec.Decode(data); err != nil {
				t.Fatalf("decode golden into %T: %v", data, err)
			}
			encoded, err := json.Marshal(data)
			if err != nil {
				t.Fatalf("encode %T: %v", data, err)
			}
			if got, want := unmarshal(t, encoded), unmarshal(t, golden); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip through %T:\n got %s\nwant %s", data, encoded, golden)
			}
		})
	}
}

func TestSchemaFiles(t *testing.T) {
	files := schemas.SchemaFS()
	for _, typ := range schemas.Types() {
		if _, err := fs.Stat(files, typ+".json"); err != nil {
			t.Errorf("schema of %s: %v", typ, err)
		}
	}

	names, err := fs.Glob(files, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		sch := readSchema(t, name)
		base := strings.TrimSuffix(name, ".json")
		if got, want := sch["$id"], schemas.DataSchema(base); got != want {
			t.Errorf("%s: $id = %v, want %q", name, got, want)
		}
		if got, want := sch["$schema"], "https://json-schema.org/draft/2020-12/schema"; got != want {
			t.Errorf("%s: $schema = %v, want %q", name, got, want)
		}
		for _, key := range []string{"title", "description"} {
			if s, _ := sch[key].(string); s == "" {
				t.Errorf("%s: no %s", name, key)
			}
		}
		if base == "defs" {
			continue
		}
		if !slices.Contains(schemas.Types(), base) {
			t.Errorf("%s: schema of no type in Types()", name)
		}
		if got := sch["additionalProperties"]; got != false {
			t.Errorf("%s: additionalProperties = %v, want false", name, got)
		}
	}
}

// TestSchemasMatchStructs keeps each schema's properties and required list in
// step with the JSON tags of its Go struct: required is exactly the fields
// without omitempty or omitzero, since encoding/json always writes those.
func TestSchemasMatchStructs(t *testing.T) {
	check := func(t *testing.T, sch map[string]any, goType reflect.Type) {
		t.Helper()
		props, required := jsonFields(goType)
		if got := slices.Sorted(maps.Keys(sch["properties"].(map[string]any))); !slices.Equal(got, props) {
			t.Errorf("properties = %v, want the JSON fields of %v %v", got, goType, props)
		}
		if got := slices.Sorted(slices.Values(stringSlice(sch["required"]))); !slices.Equal(got, required) {
			t.Errorf("required = %v, want the fields of %v without omitempty %v", got, goType, required)
		}
	}
	for typ, newData := range dataTypes() {
		t.Run(typ, func(t *testing.T) {
			check(t, readSchema(t, typ+".json"), reflect.TypeOf(newData()).Elem())
		})
	}

	defs := readSchema(t, "defs.json")["$defs"].(map[string]any)
	for name, goType := range map[string]reflect.Type{
		"money":      reflect.TypeFor[schemas.Money](),
		"party":      reflect.TypeFor[schemas.Party](),
		"fieldError": reflect.TypeFor[schemas.FieldError](),
	} {
		t.Run("defs/"+name, func(t *testing.T) {
			check(t, defs[name].(map[string]any), goType)
		})
	}
}

func TestSchemaEnums(t *testing.T) {
	enum := func(schemaFile, property string) []string {
		props := readSchema(t, schemaFile)["properties"].(map[string]any)
		return stringSlice(props[property].(map[string]any)["enum"])
	}

	var reasons []string
	for _, r := range schemas.RejectReasons() {
		reasons = append(reasons, string(r))
	}
	if got := enum(schemas.TypeBidRejected+".json", "reason"); !slices.Equal(got, reasons) {
		t.Errorf("reason enum = %v, want RejectReasons() %v", got, reasons)
	}

	// events.go has no list of notification kinds to compare with, so the
	// constants are spelled out here.
	kinds := []string{string(schemas.NotifyWon), string(schemas.NotifyLost),
		string(schemas.NotifySold), string(schemas.NotifyUnsold), string(schemas.NotifyOutbid)}
	if got := enum(schemas.TypeNotificationSent+".json", "kind"); !slices.Equal(got, kinds) {
		t.Errorf("kind enum = %v, want %v", got, kinds)
	}
}

// jsonFields returns the sorted JSON names of t's fields, and of those the
// ones encoding/json always writes.
func jsonFields(t reflect.Type) (props, required []string) {
	for f := range t.Fields() {
		tag, ok := f.Tag.Lookup("json")
		if !ok || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		props = append(props, name)
		if o := strings.Split(opts, ","); !slices.Contains(o, "omitempty") && !slices.Contains(o, "omitzero") {
			required = append(required, name)
		}
	}
	slices.Sort(props)
	slices.Sort(required)
	return props, required
}

func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(schemas.SchemaFS(), name)
	if err != nil {
		t.Fatal(err)
	}
	var sch map[string]any
	if err := json.Unmarshal(data, &sch); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return sch
}

// stringSlice converts a decoded JSON array of strings.
func stringSlice(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func unmarshal(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func newValidator(t testing.TB) *schemas.Validator {
	t.Helper()
	v, err := schemas.NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	return v
}

package schemas

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestCheckCompileRefuses: a schema with anything the checks do not
// implement exactly compiles to no check, so its type stays the library's.
func TestCheckCompileRefuses(t *testing.T) {
	const root = "https://auctionflow.dev/schemas/t.json"
	for name, doc := range map[string]string{
		"an unknown keyword":        `{"type":"object","not":{"required":["a"]}}`,
		"an $id below the root":     `{"properties":{"a":{"$id":"other.json","$ref":"#/$defs/x"}},"$defs":{"x":{}}}`,
		"a boolean schema":          `{"properties":{"a":true}}`,
		"open additionalProperties": `{"additionalProperties":{"type":"string"}}`,
		"a number const":            `{"const":1}`,
		"a fractional minimum":      `{"minimum":0.5}`,
		"a $ref to nowhere":         `{"$ref":"defs.json#/$defs/none"}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := newCheckCompiler(map[string]any{root: inst}).compile(root); err == nil {
			t.Errorf("%s: compiled %s, want an error", name, doc)
		}
	}
	ok, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"$id":"` + root + `","type":"object","required":["a"]}`)))
	if _, err := newCheckCompiler(map[string]any{root: ok}).compile(root); err != nil {
		t.Errorf("a plain schema with its root $id: %v", err)
	}
}

package schemas

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The schemas are embedded so that the contract a component validates against
// is the one it was built with, whatever is deployed at the $id URLs.
//
//go:embed jsonschema/*.json
var schemaFiles embed.FS

// SchemaFS returns the JSON Schema files, named as the last path segment of
// their $id (auction.bid.placed.v1.json, defs.json), so that serving it under
// https://auctionflow.dev/schemas/ makes every $id and $ref resolvable.
func SchemaFS() fs.FS {
	sub, err := fs.Sub(schemaFiles, "jsonschema")
	if err != nil {
		// Only an invalid path makes fs.Sub fail, and this one is constant.
		panic(err)
	}
	return sub
}

// ErrUnknownType is wrapped by the error Validate returns for an event type
// that has no schema.
var ErrUnknownType = errors.New("unknown event type")

// ValidationError lists everything wrong with an event's data, not only the
// first problem, so one round trip is enough to fix a payload.
type ValidationError struct {
	Type string
	// Errors are the leaf failures, sorted by Field then Code.
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s data: ", e.Type)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%q: %s", fe.Field, fe.Message)
	}
	return b.String()
}

// Validator checks event data against the schema of its type. It holds only
// compiled schemas that are never modified, so it is safe for concurrent use;
// build one at startup and share it.
type Validator struct {
	schemas map[string]*jsonschema.Schema // by event type
	checks  map[string]*check             // by event type, where one compiles
	printer *message.Printer
}

// NewValidator compiles the schema of every event type in Types().
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	// 2020-12 treats format as an annotation by default; a timestamp that is
	// not a date-time must fail here, not in a consumer's time.Parse.
	c.AssertFormat()

	// Registering every file under its $id lets the schemas' relative $refs
	// (defs.json#/$defs/money) resolve offline, exactly as they would against
	// the published files.
	files := SchemaFS()
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	docs := map[string]any{}
	for _, name := range names {
		id, doc, err := loadSchema(files, name)
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		docs[id] = doc
	}

	v := &Validator{
		schemas: make(map[string]*jsonschema.Schema),
		checks:  make(map[string]*check),
		printer: message.NewPrinter(language.English),
	}
	cc := newCheckCompiler(docs)
	for _, t := range Types() {
		sch, err := c.Compile(DataSchema(t))
		if err != nil {
			return nil, fmt.Errorf("compile schema of %s: %w", t, err)
		}
		v.schemas[t] = sch
		// A schema the check cannot compile is the library's alone
		// (TestChecksCompile says which, today none).
		if ch, err := cc.compile(DataSchema(t)); err == nil {
			v.checks[t] = ch
		}
	}
	return v, nil
}

func loadSchema(files fs.FS, name string) (id string, doc any, err error) {
	data, err := fs.ReadFile(files, name)
	if err != nil {
		return "", nil, err
	}
	doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return "", nil, fmt.Errorf("schema %s: %w", name, err)
	}
	obj, _ := doc.(map[string]any)
	id, _ = obj["$id"].(string)
	if id == "" {
		return "", nil, fmt.Errorf("schema %s: no $id", name)
	}
	return id, doc, nil
}

// Validate checks data, the JSON data of an event of eventType. It returns
// nil if the data is valid, a *ValidationError if it is not (including when
// it is not JSON at all), and an error wrapping ErrUnknownType if eventType
// has no schema.
func (v *Validator) Validate(eventType string, data []byte) error {
	sch, ok := v.schemas[eventType]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, eventType)
	}
	// jsonschema.UnmarshalJSON keeps numbers as json.Number, so 1e400 or
	// 9007199254740993 are judged as written rather than as rounded floats.
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &ValidationError{Type: eventType, Errors: []FieldError{
			{Field: "", Code: "malformed", Message: "not a JSON document: " + err.Error()},
		}}
	}
	// The type's check answers for the valid data that is nearly all
	// there is; the library judges the rest and reports what is wrong.
	if ch := v.checks[eventType]; ch != nil && ch.run(inst) == yes {
		return nil
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return fmt.Errorf("validate %s data: %w", eventType, err)
	}
	fes := v.leaves(verr, nil)
	slices.SortStableFunc(fes, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Code, b.Code))
	})
	return &ValidationError{Type: eventType, Errors: fes}
}

// leaves flattens the library's error tree, whose inner nodes ($ref, allOf,
// the schema itself) only say that something below them failed.
func (v *Validator) leaves(e *jsonschema.ValidationError, out []FieldError) []FieldError {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			out = v.leaves(c, out)
		}
		return out
	}
	at := pointer(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	// The library reports these at the enclosing object; pointing at the
	// member itself tells the sender which field to add or remove.
	case *kind.Required:
		for _, name := range k.Missing {
			out = append(out, FieldError{Field: at + "/" + escape(name), Code: "required",
				Message: "missing required property"})
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			out = append(out, FieldError{Field: at + "/" + escape(name), Code: "additionalProperties",
				Message: "property not allowed"})
		}
	default:
		code := "invalid"
		if kw := e.ErrorKind.KeywordPath(); len(kw) > 0 {
			code = kw[0]
		}
		out = append(out, FieldError{Field: at, Code: code,
			Message: e.ErrorKind.LocalizedString(v.printer)})
	}
	return out
}

// pointer renders an instance location as a JSON pointer (RFC 6901).
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

func escape(token string) string {
	// "~" first, or the "~1" that stands for "/" would become "~01".
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

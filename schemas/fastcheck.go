package schemas

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A check is a JSON Schema compiled for one question only: is this instance
// certainly valid? Validate asks it first and asks the JSON Schema library
// only when the answer is not a plain yes, so a valid event, which nearly
// every event is, never pays for the library's general machinery (per
// keyword scopes, error trees, big.Rat arithmetic: most of the CPU a
// consumer spent reading a record). The library stays the judge of every
// refusal and writes its report.
//
// A check knows the keywords the schemas use, and no others: compiling a
// schema with any other keyword fails, and that type is validated by the
// library alone. TestCheckAgrees holds a check's yes to the library's
// verdict over mutations of every golden payload, and FuzzCheck over
// arbitrary input.
type check struct {
	types    []string // of "object", "string", "integer", ...; nil for any
	props    map[string]*check
	closed   bool // additionalProperties: false
	required []string
	minLen   int // -1 when unset
	maxLen   int
	pattern  *regexp.Regexp
	dateTime bool
	min, max *int64
	enum     []string
	konst    any // a string or a bool, when hasConst
	hasConst bool
	items    *check
	minItems int
	unique   bool
	ifC      *check
	thenC    *check
	refs     []*check
}

// verdict is a check's answer. unsure covers what a check does not decide
// exactly (a number that is not a plain int64, uniqueness of objects): the
// library decides those.
type verdict int

const (
	yes verdict = iota
	no
	unsure
)

// and is the verdict of two keywords that must both hold.
func (a verdict) and(b verdict) verdict { return max(a, b) }

// annotations are keywords that never change a verdict.
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "$defs": true,
	"title": true, "description": true, "examples": true, "default": true,
	"deprecated": true, "readOnly": true, "writeOnly": true,
}

// checkCompiler compiles the checks of a set of schema documents, each
// under its $id, resolving $ref between them. A $ref target is compiled
// once, so a recursive schema compiles too.
type checkCompiler struct {
	docs map[string]any    // by $id
	done map[string]*check // by absolute reference
}

func newCheckCompiler(docs map[string]any) *checkCompiler {
	return &checkCompiler{docs: docs, done: map[string]*check{}}
}

// compile returns the check of the schema at ref, an absolute URL whose
// fragment, if any, is a JSON pointer into its document.
func (c *checkCompiler) compile(ref string) (*check, error) {
	if ch, ok := c.done[ref]; ok {
		return ch, nil
	}
	base, fragment, _ := strings.Cut(ref, "#")
	doc, ok := c.docs[base]
	if !ok {
		return nil, fmt.Errorf("no schema %s", base)
	}
	node, err := pointTo(doc, fragment)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	if fragment != "" && hasID(node) {
		return nil, fmt.Errorf("%s: an $id below the root", ref)
	}
	ch := &check{}
	c.done[ref] = ch
	if err := c.fill(ch, base, node); err != nil {
		delete(c.done, ref)
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return ch, nil
}

// sub compiles a schema that sits inline in the document at base.
func (c *checkCompiler) sub(base string, node any) (*check, error) {
	if hasID(node) {
		// It would change the base its $refs resolve against.
		return nil, fmt.Errorf("an $id below the root")
	}
	ch := &check{}
	return ch, c.fill(ch, base, node)
}

func hasID(node any) bool {
	obj, _ := node.(map[string]any)
	_, ok := obj["$id"]
	return ok
}

func (c *checkCompiler) fill(ch *check, base string, node any) error {
	obj, ok := node.(map[string]any)
	if !ok {
		return fmt.Errorf("schema is %T, not an object", node)
	}
	ch.minLen, ch.maxLen = -1, -1
	for kw, val := range obj {
		if annotations[kw] {
			continue
		}
		var err error
		switch kw {
		case "type":
			ch.types, err = stringList(val, true)
		case "properties":
			props, ok := val.(map[string]any)
			if !ok {
				return fmt.Errorf("properties is %T", val)
			}
			ch.props = make(map[string]*check, len(props))
			for name, p := range props {
				if ch.props[name], err = c.sub(base, p); err != nil {
					return fmt.Errorf("properties/%s: %w", name, err)
				}
			}
		case "additionalProperties":
			if b, ok := val.(bool); !ok || b {
				return fmt.Errorf("additionalProperties other than false")
			}
			ch.closed = true
		case "required":
			ch.required, err = stringList(val, false)
		case "minLength":
			ch.minLen, err = count(val)
		case "maxLength":
			ch.maxLen, err = count(val)
		case "minItems":
			ch.minItems, err = count(val)
		case "pattern":
			s, ok := val.(string)
			if !ok {
				return fmt.Errorf("pattern is %T", val)
			}
			// The library compiles patterns with the same package.
			ch.pattern, err = regexp.Compile(s)
		case "format":
			if val != "date-time" {
				return fmt.Errorf("format %v", val)
			}
			ch.dateTime = true
		case "minimum", "maximum":
			n, ok := val.(json.Number)
			if !ok {
				return fmt.Errorf("%s is %T", kw, val)
			}
			i, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return fmt.Errorf("%s %s is not an int64", kw, n)
			}
			if kw == "minimum" {
				ch.min = &i
			} else {
				ch.max = &i
			}
		case "enum":
			ch.enum, err = stringList(val, false)
		case "const":
			switch val.(type) {
			case string, bool:
				ch.konst, ch.hasConst = val, true
			default:
				return fmt.Errorf("const %T", val)
			}
		case "uniqueItems":
			b, ok := val.(bool)
			if !ok {
				return fmt.Errorf("uniqueItems is %T", val)
			}
			ch.unique = b
		case "items":
			ch.items, err = c.sub(base, val)
		case "if":
			ch.ifC, err = c.sub(base, val)
		case "then":
			ch.thenC, err = c.sub(base, val)
		case "$ref":
			s, ok := val.(string)
			if !ok {
				return fmt.Errorf("$ref is %T", val)
			}
			abs, rerr := resolve(base, s)
			if rerr != nil {
				return rerr
			}
			var r *check
			if r, err = c.compile(abs); err == nil {
				ch.refs = append(ch.refs, r)
			}
		default:
			return fmt.Errorf("keyword %q has no fast check", kw)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", kw, err)
		}
	}
	if ch.thenC != nil && ch.ifC == nil {
		// then without if is ignored by the specification; keep it simple.
		ch.thenC = nil
	}
	return nil
}

// run is the verdict of ch on inst, an instance decoded as
// jsonschema.UnmarshalJSON decodes it (objects as map[string]any, numbers as
// json.Number).
func (ch *check) run(inst any) verdict {
	v := ch.typeOK(inst)
	if v == no {
		return no
	}
	switch x := inst.(type) {
	case map[string]any:
		v = v.and(ch.object(x))
	case string:
		v = v.and(ch.str(x))
	case json.Number:
		v = v.and(ch.number(x))
	case []any:
		v = v.and(ch.array(x))
	}
	if ch.enum != nil {
		s, ok := inst.(string)
		if !ok || !slices.Contains(ch.enum, s) {
			return no
		}
	}
	if ch.hasConst && inst != ch.konst {
		// Both sides are strings or bools here, comparable with !=.
		return no
	}
	for _, r := range ch.refs {
		if v = v.and(r.run(inst)); v == no {
			return no
		}
	}
	if ch.ifC != nil {
		switch ch.ifC.run(inst) {
		case yes:
			if ch.thenC != nil {
				v = v.and(ch.thenC.run(inst))
			}
		case unsure:
			v = v.and(unsure)
		}
	}
	return v
}

func (ch *check) typeOK(inst any) verdict {
	if ch.types == nil {
		return yes
	}
	v := no
	for _, t := range ch.types {
		switch t {
		case "object":
			_, ok := inst.(map[string]any)
			v = pick(v, ok)
		case "string":
			_, ok := inst.(string)
			v = pick(v, ok)
		case "boolean":
			_, ok := inst.(bool)
			v = pick(v, ok)
		case "array":
			_, ok := inst.([]any)
			v = pick(v, ok)
		case "null":
			v = pick(v, inst == nil)
		case "number":
			_, ok := inst.(json.Number)
			v = pick(v, ok)
		case "integer":
			if n, ok := inst.(json.Number); ok {
				if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
					return yes
				}
				// 1.0, 1e2 and 2^64 are integers too: the library decides.
				v = unsure
			}
		}
		if v == yes {
			return yes
		}
	}
	return v
}

// pick is the verdict so far, improved to yes by a type that matched.
func pick(v verdict, matched bool) verdict {
	if matched {
		return yes
	}
	return v
}

func (ch *check) object(m map[string]any) verdict {
	for _, name := range ch.required {
		if _, ok := m[name]; !ok {
			return no
		}
	}
	v := yes
	for name, val := range m {
		p, ok := ch.props[name]
		if !ok {
			if ch.closed {
				return no
			}
			continue
		}
		if v = v.and(p.run(val)); v == no {
			return no
		}
	}
	return v
}

func (ch *check) str(s string) verdict {
	if ch.minLen >= 0 || ch.maxLen >= 0 {
		// Lengths count code points, as the specification says.
		n := utf8.RuneCountInString(s)
		if (ch.minLen >= 0 && n < ch.minLen) || (ch.maxLen >= 0 && n > ch.maxLen) {
			return no
		}
	}
	if ch.pattern != nil && !ch.pattern.MatchString(s) {
		return no
	}
	if ch.dateTime && !plainDateTime(s) {
		return unsure
	}
	return yes
}

// plainDateTime reports whether s is an RFC 3339 date-time of the plainest
// form: digits where they belong, a real day of its month, an hour, minute
// and second in range, an offset of Z or ±hh:mm. It accepts nothing the
// format refuses (Go's time.Parse does: an offset of +24:00, a comma before
// the fraction), and leaves the rest (a leap second, a lowercase t) to the
// library.
func plainDateTime(s string) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	second, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59 {
		return false
	}
	rest := s[19:]
	if frac, ok := strings.CutPrefix(rest, "."); ok {
		n := 0
		for n < len(frac) && frac[n] >= '0' && frac[n] <= '9' {
			n++
		}
		if n == 0 {
			return false
		}
		rest = frac[n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' {
		return false
	}
	oh, ok1 := digits(rest[1:3])
	om, ok2 := digits(rest[4:6])
	return ok1 && ok2 && oh <= 23 && om <= 59
}

// digits reads a string of ASCII digits only.
func digits(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (ch *check) number(n json.Number) verdict {
	if ch.min == nil && ch.max == nil {
		return yes
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return unsure
	}
	if (ch.min != nil && i < *ch.min) || (ch.max != nil && i > *ch.max) {
		return no
	}
	return yes
}

func (ch *check) array(a []any) verdict {
	if len(a) < ch.minItems {
		return no
	}
	v := yes
	if ch.unique && len(a) > 1 {
		seen := make(map[string]bool, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				// Equality of numbers and objects is the library's.
				v = unsure
				break
			}
			if seen[s] {
				return no
			}
			seen[s] = true
		}
	}
	if ch.items != nil {
		for _, x := range a {
			if v = v.and(ch.items.run(x)); v == no {
				return no
			}
		}
	}
	return v
}

// stringList reads a keyword's list of strings; one string alone is a list
// when single is set (type: "object").
func stringList(val any, single bool) ([]string, error) {
	if s, ok := val.(string); ok && single {
		return []string{s}, nil
	}
	list, ok := val.([]any)
	if !ok {
		return nil, fmt.Errorf("%T, not a list", val)
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("an element is %T, not a string", x)
		}
		out = append(out, s)
	}
	return out, nil
}

func count(val any) (int, error) {
	n, ok := val.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%T, not a number", val)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%s is not a count", n)
	}
	return i, nil
}

// resolve makes a $ref absolute against the URL of the document it is in.
func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("$ref %q: %w", ref, err)
	}
	return b.ResolveReference(r).String(), nil
}

// pointTo follows a JSON pointer (RFC 6901) from a document's root.
func pointTo(doc any, pointer string) (any, error) {
	if pointer == "" {
		return doc, nil
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("fragment %q is not a JSON pointer", pointer)
	}
	node := doc
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		obj, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("pointer %q: %q is not in an object", pointer, tok)
		}
		if node, ok = obj[tok]; !ok {
			return nil, fmt.Errorf("pointer %q: no %q", pointer, tok)
		}
	}
	return node, nil
}

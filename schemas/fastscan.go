package schemas

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting the scan follows; deeper data is the
// library's (encoding/json refuses it anyway).
const maxDepth = 1000

// scanner reads one JSON document, a value at a time, without building it:
// a check's yes costs no allocation for data as the platform writes it.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// verdictOf is ch's verdict on data, a whole JSON document. Anything that is
// not plain, well-formed JSON (a string with escapes or bytes that are not
// UTF-8 is read as encoding/json reads it, so the check sees what the
// library sees) is unsure.
func (ch *check) verdictOf(data []byte) verdict {
	s := &scanner{b: data}
	if v := ch.scan(s); v != yes {
		return v
	}
	s.ws()
	if s.i != len(s.b) {
		return unsure
	}
	return yes
}

// scan is ch's verdict on the value at s, which it reads past when the
// verdict is yes; on any other verdict s is left anywhere.
func (ch *check) scan(s *scanner) verdict {
	s.ws()
	start := s.i
	refs := ch.refs
	if ch.bare && len(refs) > 0 {
		// Only a $ref (and annotations): the value is read once, by it.
		if v := refs[0].scan(s); v != yes {
			return v
		}
		refs = refs[1:]
	} else if v := ch.own(s); v != yes {
		return v
	}
	end := s.i
	for _, r := range refs {
		s.i = start
		if v := r.scan(s); v != yes {
			return v
		}
	}
	if ch.ifC != nil {
		s.i = start
		switch ch.ifC.scan(s) {
		case yes:
			if ch.thenC != nil {
				s.i = start
				if v := ch.thenC.scan(s); v != yes {
					return v
				}
			}
		case unsure:
			return unsure
		}
	}
	s.i = end
	return yes
}

// own is the verdict of ch's keywords other than $ref, if and then.
func (ch *check) own(s *scanner) verdict {
	if s.i >= len(s.b) {
		return unsure
	}
	switch c := s.b[s.i]; {
	case c == '{':
		if !ch.allows("object") {
			return no
		}
		return ch.object(s)
	case c == '[':
		if !ch.allows("array") {
			return no
		}
		return ch.array(s)
	case c == '"':
		str, ok := s.str()
		if !ok {
			return unsure
		}
		if !ch.allows("string") {
			return no
		}
		if v := ch.str(str); v != yes {
			return v
		}
		if ch.enum != nil && !slices.ContainsFunc(ch.enum, func(e string) bool { return e == string(str) }) {
			return no
		}
		if k, isString := ch.konst.(string); ch.hasConst && (!isString || k != string(str)) {
			return no
		}
		return yes
	case c == 't' || c == 'f' || c == 'n':
		lit, val, ok := s.literal()
		if !ok {
			return unsure
		}
		if !ch.allows(lit) || ch.enum != nil {
			return no
		}
		if ch.hasConst && (lit != "boolean" || ch.konst != any(val)) {
			return no
		}
		return yes
	case c == '-' || (c >= '0' && c <= '9'):
		return ch.number(s)
	default:
		return unsure
	}
}

// allows reports whether the type keyword lets a value of kind through
// (kind is never "integer": numbers are judged by number).
func (ch *check) allows(kind string) bool {
	return ch.types == nil || slices.Contains(ch.types, kind)
}

func (ch *check) object(s *scanner) verdict {
	if s.depth++; s.depth > maxDepth {
		return unsure
	}
	defer func() { s.depth-- }()
	s.i++           // {
	var seen uint64 // bit i: ch.required[i] is there
	if len(ch.required) > 64 {
		return unsure
	}
	s.ws()
	if s.peek('}') {
		s.i++
	} else {
		for {
			s.ws()
			if !s.peek('"') {
				return unsure
			}
			key, ok := s.str()
			if !ok {
				return unsure
			}
			s.ws()
			if !s.peek(':') {
				return unsure
			}
			s.i++
			if p, known := ch.props[string(key)]; known {
				if v := p.scan(s); v != yes {
					return v
				}
			} else if ch.closed {
				return no
			} else if !s.skip() {
				return unsure
			}
			for i, name := range ch.required {
				if name == string(key) {
					seen |= 1 << i
				}
			}
			s.ws()
			if s.peek(',') {
				s.i++
				continue
			}
			if s.peek('}') {
				s.i++
				break
			}
			return unsure
		}
	}
	if seen != 1<<len(ch.required)-1 {
		return no
	}
	if ch.enum != nil || ch.hasConst {
		return no
	}
	return yes
}

func (ch *check) array(s *scanner) verdict {
	if s.depth++; s.depth > maxDepth {
		return unsure
	}
	defer func() { s.depth-- }()
	s.i++             // [
	var strs [][]byte // for uniqueItems
	n := 0
	s.ws()
	if s.peek(']') {
		s.i++
	} else {
		for {
			s.ws()
			start := s.i
			if ch.items != nil {
				if v := ch.items.scan(s); v != yes {
					return v
				}
			} else if !s.skip() {
				return unsure
			}
			if ch.unique {
				// Equality of numbers and objects is the library's.
				str, ok := (&scanner{b: s.b, i: start}).strAt()
				if !ok {
					return unsure
				}
				if slices.ContainsFunc(strs, func(x []byte) bool { return bytes.Equal(x, str) }) {
					return no
				}
				strs = append(strs, str)
			}
			n++
			s.ws()
			if s.peek(',') {
				s.i++
				continue
			}
			if s.peek(']') {
				s.i++
				break
			}
			return unsure
		}
	}
	if n < ch.minItems || ch.enum != nil || ch.hasConst {
		return no
	}
	return yes
}

func (ch *check) number(s *scanner) verdict {
	start := s.i
	integer, ok := s.num()
	if !ok {
		return unsure
	}
	if ch.enum != nil || ch.hasConst {
		return no
	}
	if ch.types != nil && !slices.Contains(ch.types, "number") && !slices.Contains(ch.types, "integer") {
		return no
	}
	needInt := ch.min != nil || ch.max != nil || (ch.types != nil && !slices.Contains(ch.types, "number"))
	if !needInt {
		return yes
	}
	if !integer {
		// 1.0 and 1e2 are integers too, and minimum applies to 0.5:
		// the library decides.
		return unsure
	}
	i, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	if err != nil {
		return unsure
	}
	if (ch.min != nil && i < *ch.min) || (ch.max != nil && i > *ch.max) {
		return no
	}
	return yes
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

// str reads the string at s.i (its opening quote). A plain string is used
// as it is, in place; one with escapes or bytes that are not UTF-8 is
// decoded by encoding/json, as the library's decoder reads it.
func (s *scanner) str() ([]byte, bool) {
	start := s.i
	s.i++
	plain := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			raw := s.b[start+1 : s.i-1]
			if plain && utf8.Valid(raw) {
				return raw, true
			}
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				return nil, false
			}
			return []byte(out), true
		case c == '\\':
			plain = false
			s.i += 2
		case c < 0x20:
			return nil, false
		default:
			s.i++
		}
	}
	return nil, false
}

// strAt reads the value at s.i if it is a string.
func (s *scanner) strAt() ([]byte, bool) {
	if !s.peek('"') {
		return nil, false
	}
	return s.str()
}

// literal reads true, false or null, and says which kind it is.
func (s *scanner) literal() (kind string, val bool, ok bool) {
	for _, l := range [...]struct {
		text string
		kind string
		val  bool
	}{{"true", "boolean", true}, {"false", "boolean", false}, {"null", "null", false}} {
		if len(s.b)-s.i >= len(l.text) && string(s.b[s.i:s.i+len(l.text)]) == l.text {
			s.i += len(l.text)
			return l.kind, l.val, true
		}
	}
	return "", false, false
}

// num reads a JSON number and says whether it is written as an integer
// (no fraction, no exponent).
func (s *scanner) num() (integer bool, ok bool) {
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.peek('-') {
		s.i++
	}
	if s.peek('0') {
		s.i++
	} else if digits() == 0 {
		return false, false
	}
	integer = true
	if s.peek('.') {
		s.i++
		if digits() == 0 {
			return false, false
		}
		integer = false
	}
	if s.peek('e') || s.peek('E') {
		s.i++
		if s.peek('+') || s.peek('-') {
			s.i++
		}
		if digits() == 0 {
			return false, false
		}
		integer = false
	}
	return integer, true
}

// anything is the check of no keywords: every well-formed value is a yes.
var anything = &check{minLen: -1, maxLen: -1, bare: true}

// skip reads past any value, checking only that it is well-formed.
func (s *scanner) skip() bool { return anything.scan(s) == yes }

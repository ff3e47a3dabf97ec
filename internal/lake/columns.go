package lake

import (
	"database/sql/driver"
	"errors"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Events are turned into their store's columns in Go and appended, which is several times
// cheaper than DuckDB's json_transform (docs/benchmarks.md). The conversion reproduces what
// json_transform stores, value for value; where it would not be certain to (a fractional number
// where the schema wants text, a map with a repeated key…) rowValues reports false and the event
// takes the SQL path instead. TestColumnsMatchJSONTransform holds the two paths together.

// rowValues is one event's column values in schema order, or false to leave it to SQL.
func rowValues(k Kind, raw []byte, eventTime any, category string) ([]driver.Value, bool) {
	var p jsonParser
	root, err := p.parse(raw)
	if err != nil || root.kind != jObject {
		return nil, false
	}
	fs := schemas[k]
	vals := make([]driver.Value, len(fs))
	for i, f := range fs {
		switch f.staged {
		case "eventtime":
			vals[i] = eventTime
		case "eventcategory":
			vals[i] = category
		case "eventjson":
			vals[i] = string(raw)
		default:
			v, ok := f.value(root.member(f.key))
			if !ok {
				return nil, false
			}
			vals[i] = v
		}
	}
	return vals, true
}

// value converts v (nil when the member is absent) as json_transform converts it to f's type.
func (f field) value(v *jval) (any, bool) {
	if v == nil || v.kind == jNull {
		return nil, true
	}
	switch {
	case f.list:
		if v.kind != jArray {
			return nil, true // json_transform: not an array is NULL
		}
		elems := make([]any, len(v.kids))
		for i := range v.kids {
			e := &v.kids[i]
			if e.kind == jNull {
				continue
			}
			if e.kind != jObject {
				return nil, false
			}
			el := field{fields: f.fields}
			var ok bool
			if elems[i], ok = el.value(e); !ok {
				return nil, false
			}
		}
		return elems, true
	case f.fields != nil:
		if v.kind != jObject {
			return nil, false // json_transform makes a struct of NULLs; leave that to it
		}
		m := make(map[string]any, len(f.fields))
		for _, c := range f.fields {
			cv, ok := c.value(v.member(c.key))
			if !ok {
				return nil, false
			}
			m[c.name] = cv
		}
		return m, true
	}
	switch f.typ {
	case "VARCHAR":
		return text(v)
	case "BOOLEAN":
		if v.kind != jBool {
			return nil, false
		}
		return v.s == "true", true
	case "TIMESTAMP":
		if v.kind != jString {
			return nil, false
		}
		return timestamp(v.s)
	case mapType:
		if v.kind != jObject {
			return nil, true // json_transform: not an object is NULL
		}
		var m duckdb.OrderedMap
		for i, k := range v.keys {
			for _, seen := range v.keys[:i] {
				if seen == k {
					return nil, false // DuckDB keeps both entries; an ordered Go map cannot
				}
			}
			t, ok := text(&v.kids[i])
			if !ok {
				return nil, false
			}
			m.Set(k, t)
		}
		return m, true
	}
	return nil, false
}

// text is v as VARCHAR: strings as they are, other values as compact JSON the way DuckDB's
// JSON writer prints them.
func text(v *jval) (any, bool) {
	switch v.kind {
	case jNull:
		return nil, true
	case jString:
		return v.s, true
	}
	b, ok := appendCompact(nil, v)
	if !ok {
		return nil, false
	}
	return string(b), true
}

// appendCompact writes v without spaces, escaping strings as DuckDB does (only quote, backslash
// and control characters). Numbers other than plain integers are refused: DuckDB reprints them
// from a double.
func appendCompact(dst []byte, v *jval) ([]byte, bool) {
	switch v.kind {
	case jNull, jBool:
		return append(dst, v.s...), true
	case jNumber:
		if !plainInteger(v.s) {
			return nil, false
		}
		return append(dst, v.s...), true
	case jString:
		return appendQuoted(dst, v.s), true
	case jArray:
		dst = append(dst, '[')
		for i := range v.kids {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendCompact(dst, &v.kids[i]); !ok {
				return nil, false
			}
		}
		return append(dst, ']'), true
	}
	dst = append(dst, '{')
	for i, k := range v.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendQuoted(dst, k), ':')
		var ok bool
		if dst, ok = appendCompact(dst, &v.kids[i]); !ok {
			return nil, false
		}
	}
	return append(dst, '}'), true
}

func appendQuoted(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// plainInteger reports whether n is an integer DuckDB prints back unchanged.
func plainInteger(n string) bool {
	d := n
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && len(n) > 1) {
		return false // also refuses -0 and leading zeros
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// timestamp parses the one form CloudTrail writes, 2006-01-02T15:04:05Z with up to 6 fractional
// digits; DuckDB's own cast decides anything else (it ignores offsets, for one).
func timestamp(s string) (any, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[10] != 'T' {
		return nil, false
	}
	if len(s) > 20 {
		frac := s[19 : len(s)-1]
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 7 {
			return nil, false
		}
		for i := 1; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return nil, false
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 {
		return nil, false
	}
	return t, true
}

// jval is a parsed JSON value. Object members keep their order and repeats.
type jval struct {
	kind jkind
	s    string // string contents, number text, or the literal
	keys []string
	kids []jval // object member values or array elements
}

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jObject
	jArray
)

// member is the first member named key (DuckDB takes the first of repeats), or nil.
func (v *jval) member(key string) *jval {
	for i, k := range v.keys {
		if k == key {
			return &v.kids[i]
		}
	}
	return nil
}

var errJSON = errors.New("lake: malformed JSON")

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) parse(b []byte) (jval, error) {
	p.b, p.i = b, 0
	v, err := p.value(0)
	if err != nil {
		return v, err
	}
	if p.ws(); p.i != len(p.b) {
		return v, errJSON
	}
	return v, nil
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (jval, error) {
	if depth > 256 {
		return jval{}, errJSON
	}
	p.ws()
	if p.i >= len(p.b) {
		return jval{}, errJSON
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		v := jval{kind: jObject}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return v, nil
		}
		for {
			p.ws()
			k, err := p.str()
			if err != nil {
				return v, err
			}
			if p.ws(); p.i >= len(p.b) || p.b[p.i] != ':' {
				return v, errJSON
			}
			p.i++
			kid, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.keys, v.kids = append(v.keys, k), append(v.kids, kid)
			if p.ws(); p.i >= len(p.b) {
				return v, errJSON
			}
			p.i++
			switch p.b[p.i-1] {
			case ',':
				continue
			case '}':
				return v, nil
			}
			return v, errJSON
		}
	case c == '[':
		p.i++
		v := jval{kind: jArray}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return v, nil
		}
		for {
			kid, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.kids = append(v.kids, kid)
			if p.ws(); p.i >= len(p.b) {
				return v, errJSON
			}
			p.i++
			switch p.b[p.i-1] {
			case ',':
				continue
			case ']':
				return v, nil
			}
			return v, errJSON
		}
	case c == '"':
		s, err := p.str()
		return jval{kind: jString, s: s}, err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				if lit == "null" {
					return jval{kind: jNull, s: lit}, nil
				}
				return jval{kind: jBool, s: lit}, nil
			}
		}
		return jval{}, errJSON
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '-' || p.b[p.i] == '+' || p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
			p.i++
		}
		return jval{kind: jNumber, s: string(p.b[start:p.i])}, nil
	}
	return jval{}, errJSON
}

// str reads a string at p.i, unescaping it.
func (p *jsonParser) str() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", errJSON
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", errJSON
		}
		p.i++
	}
	return "", errJSON
}

// escaped finishes a string that has escapes, from start.
func (p *jsonParser) escaped(start int) (string, error) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", errJSON
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok || r == 0 {
				return "", errJSON
			}
			if utf16.IsSurrogate(r) {
				// Only a valid pair is certain to decode alike everywhere.
				if p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
					return "", errJSON
				}
				p.i += 2
				r2, ok := p.hex4()
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return "", errJSON
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errJSON
		}
	}
	return "", errJSON
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

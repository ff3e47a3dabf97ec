package pattern

import (
	"fmt"
	"strconv"
	"strings"
)

// Ref is a reference to a value in a log event, as metric filters use for
// metricValue and dimension values: $.path for JSON patterns, $name (a named
// field) or $N (the N-th token) for space-delimited ones.
type Ref struct {
	text  string
	steps []step        // JSON
	space *spaceMatcher // space-delimited
	name  string        // $name
	pos   int           // $N
}

// Ref compiles a reference for use with messages this pattern matches. As
// on AWS, a JSON reference need not appear in the pattern but may not
// contain wildcards, and a $name must be a field of the pattern.
func (p *Pattern) Ref(ref string) (*Ref, error) {
	if !strings.HasPrefix(ref, "$") || len(ref) < 2 {
		return nil, fmt.Errorf("%q is not a reference: write $.field for JSON patterns or $name for space-delimited ones", ref)
	}
	r := &Ref{text: ref}
	switch p.kind {
	case JSON:
		if ref[1] != '.' {
			return nil, fmt.Errorf("reference %q does not fit a JSON filter pattern: write $.field", ref)
		}
		jp := &jsonParser{s: ref, end: len(ref)}
		sel, err := jp.selector()
		if err != nil {
			return nil, fmt.Errorf("reference %q: %s", ref, err.(*SyntaxError).Msg)
		}
		if jp.i != len(ref) {
			return nil, fmt.Errorf("reference %q: unexpected %q after the selector", ref, ref[jp.i:])
		}
		if sel.wildAt() >= 0 {
			return nil, fmt.Errorf("reference %q: a reference cannot contain a wildcard", ref)
		}
		r.steps = sel.steps
	case SpaceDelimited:
		r.space = p.space
		name := ref[1:]
		if allDigits(name) {
			n, err := strconv.Atoi(name)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("reference %q: token positions start at $1", ref)
			}
			r.pos = n
			break
		}
		if !p.space.hasField(name) {
			return nil, fmt.Errorf("reference %q: the filter pattern has no field named %q", ref, name)
		}
		r.name = name
	default:
		return nil, fmt.Errorf("reference %q needs a JSON or space-delimited filter pattern; this one is a %s pattern", ref, p.kind)
	}
	return r, nil
}

func (sm *spaceMatcher) hasField(name string) bool {
	for _, fs := range [][]sfield{sm.before, sm.after} {
		for _, f := range fs {
			if f.name == name {
				return true
			}
		}
	}
	return false
}

// String returns the reference as written.
func (r *Ref) String() string { return r.text }

// ValueKind is the type of a value a reference found.
type ValueKind uint8

const (
	Missing ValueKind = iota // no such field
	Null
	String
	Number
	Bool
	Object
	Array
)

// Value is what a reference found in a log event. Its bytes may alias the
// message: copy (String) what you keep.
type Value struct {
	Kind ValueKind
	b    []byte // string content, number text, true/false
}

// Bytes returns a string's content (unescaped), a number's text as written,
// or true/false; nil otherwise.
func (v Value) Bytes() []byte { return v.b }

// String returns the value as text, as dimension values use it: strings as
// they are, numbers in the canonical form comparisons use ("200", "1.5").
func (v Value) String() string {
	if v.Kind == Number {
		return string(appendCanonical(nil, v.b))
	}
	return string(v.b)
}

// Float returns the value as a number: JSON numbers and strings holding a
// number (such as "42" or a space-delimited token) convert; anything else,
// and infinities, do not.
func (v Value) Float() (float64, bool) {
	if v.Kind != Number && v.Kind != String {
		return 0, false
	}
	s := strings.TrimSpace(string(v.b))
	if !isNumberText([]byte(s)) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) || f > maxFinite || f < -maxFinite {
		return 0, false
	}
	return f, true
}

const maxFinite = 1.7976931348623157e308

// Lookup returns the value the reference names in msg, which the pattern
// should have matched (Lookup checks the JSON only as far as it reads).
func (r *Ref) Lookup(msg []byte) Value {
	if r.space != nil {
		var fields []field
		if !r.space.run(msg, &fields) {
			return Value{}
		}
		for _, f := range fields {
			if r.name != "" && f.name == r.name || r.pos > 0 && f.pos == r.pos {
				return Value{Kind: String, b: f.val}
			}
		}
		return Value{}
	}
	return lookupJSON(msg, r.steps)
}

// lookupJSON follows steps from the top-level object of msg. A duplicate
// key's last value wins, as in matching.
func lookupJSON(msg []byte, steps []step) Value {
	i := skipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return Value{}
	}
	var keyBuf [64]byte
	for _, st := range steps {
		if i >= len(msg) {
			return Value{}
		}
		found := -1
		switch {
		case st.kind == stepKey && msg[i] == '{':
			j := skipWS(msg, i+1)
			if j < len(msg) && msg[j] == '}' {
				return Value{}
			}
			for {
				if j >= len(msg) || msg[j] != '"' {
					return Value{}
				}
				end, esc, ok := scanString(msg, j+1)
				if !ok {
					return Value{}
				}
				key := msg[j+1 : end]
				if esc {
					key = unescape(keyBuf[:0], key)
				}
				j = skipWS(msg, end+1)
				if j >= len(msg) || msg[j] != ':' {
					return Value{}
				}
				j = skipWS(msg, j+1)
				if string(key) == st.key {
					found = j
				}
				if j, ok = skipValue(msg, j, 0); !ok {
					return Value{}
				}
				j = skipWS(msg, j)
				if j < len(msg) && msg[j] == ',' {
					j = skipWS(msg, j+1)
					continue
				}
				if j >= len(msg) || msg[j] != '}' {
					return Value{}
				}
				break
			}
		case st.kind == stepIndex && msg[i] == '[':
			j := skipWS(msg, i+1)
			if j < len(msg) && msg[j] == ']' {
				return Value{}
			}
			for n := 0; ; n++ {
				if n == st.index {
					found = j
					break
				}
				var ok bool
				if j, ok = skipValue(msg, j, 0); !ok {
					return Value{}
				}
				j = skipWS(msg, j)
				if j >= len(msg) || msg[j] != ',' {
					return Value{}
				}
				j = skipWS(msg, j+1)
			}
		}
		if found < 0 {
			return Value{}
		}
		i = found
	}
	if i >= len(msg) {
		return Value{}
	}
	switch c := msg[i]; {
	case c == '"':
		end, esc, ok := scanString(msg, i+1)
		if !ok {
			return Value{}
		}
		b := msg[i+1 : end]
		if esc {
			b = unescape(nil, b)
		}
		return Value{Kind: String, b: b}
	case c == '{':
		return Value{Kind: Object}
	case c == '[':
		return Value{Kind: Array}
	case c == 't' || c == 'f' || c == 'n':
		end, kind, ok := scanLiteral(msg, i)
		switch {
		case !ok:
			return Value{}
		case kind == kNull:
			return Value{Kind: Null}
		}
		return Value{Kind: Bool, b: msg[i:end]}
	}
	end, ok := scanNumber(msg, i)
	if !ok {
		return Value{}
	}
	return Value{Kind: Number, b: msg[i:end]}
}

package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// The oracle evaluates a compiled JSON pattern the straightforward way:
// decode the whole message with encoding/json, then walk the tree for each
// condition. It shares the parser and the value rules (canonical number
// text, exact decimals) with the package, and nothing of the scanner, the
// trie or the bitsets, which the differential fuzz test checks against it.
// It was also the first implementation, measured in docs/benchmarks.md.

// errIncomparable marks messages on which the oracle and the package are
// allowed to differ: invalid UTF-8 (encoding/json rewrites it) and
// duplicate keys inside a wildcard's elements (see doc.go).
var errIncomparable = errors.New("message outside the oracle's domain")

// oracleDecode decodes msg as the package reads it: one JSON object, no
// trailing data, nesting within maxDepth.
func oracleDecode(msg []byte) (map[string]any, error) {
	if !utf8.Valid(msg) {
		return nil, errIncomparable
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	if depthOf(v) > maxDepth {
		return nil, errors.New("too deep")
	}
	return obj, nil
}

func depthOf(v any) int {
	switch x := v.(type) {
	case map[string]any:
		d := 0
		for _, c := range x {
			d = max(d, depthOf(c))
		}
		return d + 1
	case []any:
		d := 0
		for _, c := range x {
			d = max(d, depthOf(c))
		}
		return d + 1
	}
	return 0
}

// hasDuplicateKeys reports whether any object in msg repeats a key.
func hasDuplicateKeys(msg []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(msg))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top >= 0 && stack[top].obj {
					stack[top].key = true
				}
				stack = append(stack, frame{obj: t == '{', keys: map[string]bool{}, key: t == '{'})
			default:
				stack = stack[:top]
			}
			continue
		case string:
			if top >= 0 && stack[top].obj && stack[top].key {
				if stack[top].keys[t] {
					return true
				}
				stack[top].keys[t] = true
				stack[top].key = false
				continue
			}
		}
		if top >= 0 && stack[top].obj {
			stack[top].key = true
		}
	}
}

// oracleMatch evaluates m on msg; errIncomparable means "no verdict".
func oracleMatch(m *jsonMatcher, msg []byte) (bool, error) {
	root, err := oracleDecode(msg)
	if errors.Is(err, errIncomparable) {
		return false, err
	}
	if err != nil {
		return false, nil
	}
	if hasDuplicateKeys(msg) {
		return false, errIncomparable
	}
	return oracleExpr(m, m.root, root), nil
}

func oracleExpr(m *jsonMatcher, e int, root any) bool {
	x := &m.exprs[e]
	switch x.kind {
	case '&':
		for _, k := range x.kids {
			if !oracleExpr(m, k, root) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range x.kids {
			if oracleExpr(m, k, root) {
				return true
			}
		}
		return false
	}
	c := &m.conds[x.cond]
	steps := m.sels[c.sel].steps
	w := m.sels[c.sel].wildAt()
	if w < 0 {
		v, found := walk(root, steps)
		if c.op == opNotExists {
			return !found
		}
		return found && oracleTest(c.op, &c.lit, v, false)
	}
	base, found := walk(root, steps[:w])
	var resolved []any
	if found {
		switch b := base.(type) {
		case []any:
			for _, el := range b {
				if v, ok := walk(el, steps[w+1:]); ok {
					resolved = append(resolved, v)
				}
			}
		case map[string]any:
			for _, el := range b {
				if v, ok := walk(el, steps[w+1:]); ok {
					resolved = append(resolved, v)
				}
			}
		}
	}
	switch c.op {
	case opNotExists:
		return len(resolved) == 0
	case opNe:
		if !found {
			return false
		}
		for _, v := range resolved {
			if oracleTest(opEq, &c.lit, v, true) {
				return false
			}
		}
		return true
	}
	for _, v := range resolved {
		if oracleTest(c.op, &c.lit, v, true) {
			return true
		}
	}
	return false
}

func walk(v any, steps []step) (any, bool) {
	for _, st := range steps {
		switch st.kind {
		case stepKey:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[st.key]; !ok {
				return nil, false
			}
		case stepIndex:
			a, ok := v.([]any)
			if !ok || st.index >= len(a) {
				return nil, false
			}
			v = a[st.index]
		}
	}
	return v, true
}

func oracleTest(op opKind, lit *literal, v any, wild bool) bool {
	switch op {
	case opIsNull:
		if v == nil {
			return true
		}
		if a, ok := v.([]any); ok && !wild {
			for _, el := range a {
				if el == nil {
					return true
				}
			}
		}
		return false
	case opIsTrue:
		return v == true
	case opIsFalse:
		return v == false
	}
	var text string
	var num *decimal
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = string(appendCanonical(nil, []byte(x)))
		var buf [32]byte
		if d, ok := eventNumber([]byte(x), &buf); ok {
			d.digits = bytes.Clone(d.digits)
			num = &d
		}
	default:
		return false
	}
	_, isNum := v.(json.Number)
	if op.relational() {
		if num == nil {
			return false
		}
		c := cmpDecimal(*num, lit.num)
		return op == opLt && c < 0 || op == opLe && c <= 0 || op == opGt && c > 0 || op == opGe && c >= 0
	}
	var eq bool
	switch lit.kind {
	case litAny:
		eq = true
	case litNumber:
		if isNum {
			if num == nil {
				return false
			}
			eq = cmpDecimal(*num, lit.num) == 0
		} else {
			eq = text == lit.text
		}
	case litString:
		eq = lit.glob.match([]byte(text))
	case litRegex:
		eq = lit.re.MatchString(text)
	}
	return eq == (op == opEq)
}

package pattern

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzMessages are messages every compiled pattern is run against.
var fuzzMessages = [][]byte{
	[]byte(`{"a":[1,{"b":null}],"c":"x","d":{"e":[true,false,1.5e3,"1"]}}`),
	[]byte(`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`),
	[]byte(""),
	[]byte(`{"eventName":"ConsoleLogin","errorMessage":"Failed authentication"}`),
}

// FuzzCompile: the parser never panics, errors say where, and whatever
// compiles can be matched.
func FuzzCompile(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add(c.P)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Compile(text)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q): error %T is not a *SyntaxError", text, err)
			}
			if se.Offset < 0 || se.Offset > len(text) || se.Column != utf8.RuneCountInString(text[:se.Offset])+1 || se.Msg == "" {
				t.Fatalf("Compile(%q): bad error position or message: %+v", text, se)
			}
			return
		}
		if p.String() != text {
			t.Fatalf("String() = %q, want %q", p.String(), text)
		}
		for _, msg := range fuzzMessages {
			m := p.Match(msg)
			if _, ok := p.Extract(msg); ok != m {
				t.Fatalf("Compile(%q): Extract and Match disagree on %q", text, msg)
			}
		}
	})
}

// FuzzMatch: matching never panics, Extract agrees with Match, references
// resolve without panicking, and JSON patterns agree with the oracle.
func FuzzMatch(f *testing.F) {
	for _, c := range loadCases(f) {
		if c.E != nil {
			f.Add(c.P, []byte(c.msg))
		}
	}
	f.Fuzz(func(t *testing.T, text string, msg []byte) {
		p, err := Compile(text)
		if err != nil {
			return
		}
		got := p.Match(msg)
		if fields, ok := p.Extract(msg); ok != got {
			t.Fatalf("Compile(%q): Match = %v but Extract = %v on %q", text, got, ok, msg)
		} else if ok && p.Kind() != SpaceDelimited && len(fields) != 0 {
			t.Fatalf("Compile(%q): %s pattern extracted %v", text, p.Kind(), fields)
		}
		if p.Kind() == JSON {
			want, err := oracleMatch(p.json, msg)
			if err == nil && got != want {
				t.Fatalf("Compile(%q).Match(%q) = %v; the oracle says %v", text, msg, got, want)
			}
			for _, s := range p.json.sels {
				if r, err := p.Ref(s.text); err == nil {
					_ = r.Lookup(msg).String()
				}
			}
		}
		if p.Kind() == SpaceDelimited {
			for _, ref := range []string{"$1", "$2", "$9"} {
				r, _ := p.Ref(ref)
				r.Lookup(msg).Float()
			}
		}
	})
}

// FuzzMatchDerived fuzzes messages and derives the patterns from them: for
// each value in the message, conditions that name its path (and the same
// path with a wildcard) with its own value, a prefix of it, and the other
// operators. Mutating the message then moves values, escapes and types
// under patterns that look at them, which a pattern fuzzed independently
// rarely does. Every verdict is checked against the oracle, and every
// reference against encoding/json.
func FuzzMatchDerived(f *testing.F) {
	seen := map[string]bool{}
	for _, c := range loadCases(f) {
		if strings.HasPrefix(strings.TrimSpace(c.msg), "{") && !seen[c.msg] {
			seen[c.msg] = true
			f.Add([]byte(c.msg))
		}
	}
	f.Add(loadCorpus(f).match[0])
	f.Fuzz(func(t *testing.T, msg []byte) {
		root, err := oracleDecode(msg)
		if err != nil || hasDuplicateKeys(msg) {
			return
		}
		n := 0
		var walkLeaves func(v any, path []step)
		walkLeaves = func(v any, path []step) {
			if n++; n > 24 {
				return
			}
			checkDerived(t, msg, root, path, v)
			switch x := v.(type) {
			case map[string]any:
				for k, c := range x {
					if !strings.Contains(k, "'") {
						walkLeaves(c, append(slices.Clip(path), step{kind: stepKey, key: k}))
					}
				}
			case []any:
				for i, c := range x {
					walkLeaves(c, append(slices.Clip(path), step{kind: stepIndex, index: i}))
				}
			}
		}
		for k, v := range root {
			if !strings.Contains(k, "'") {
				walkLeaves(v, []step{{kind: stepKey, key: k}})
			}
		}
	})
}

// checkDerived checks conditions on path, whose value in msg (decoded:
// root) is v.
func checkDerived(t *testing.T, msg []byte, root map[string]any, path []step, v any) {
	sel := "$" + selectorText(path)
	var sels = []string{sel}
	for i := range path { // the same path with one wildcard
		if i == len(path)-1 || path[i].kind == stepIndex {
			w := slices.Clone(path)
			w[i] = step{kind: stepWild}
			sels = append(sels, "$"+selectorText(w))
		}
	}
	var values []string
	switch x := v.(type) {
	case string:
		values = append(values, quotePattern(x), quotePattern(x+"*"))
		if r := []rune(x); len(r) > 1 {
			values = append(values, quotePattern(string(r[:len(r)/2])+"*"), quotePattern("*"+string(r[len(r)/2:])))
		}
	case json.Number:
		values = append(values, string(x), quotePattern(string(x)))
	}
	for _, s := range sels {
		var conds []string
		for _, val := range values {
			conds = append(conds, s+" = "+val, s+" != "+val)
		}
		if x, ok := v.(json.Number); ok {
			conds = append(conds, s+" > "+string(x), s+" <= "+string(x), s+" >= "+string(x))
		}
		conds = append(conds, s+" = *", s+" IS NULL", s+" IS TRUE", s+" IS FALSE", s+" NOT EXISTS")
		for _, cond := range conds {
			text := "{ " + cond + " }"
			p, err := Compile(text)
			if err != nil {
				continue // too long, or a number out of range
			}
			if got, want := p.Match(msg), oracleExpr(p.json, p.json.root, root); got != want {
				t.Fatalf("Compile(%q).Match(%q) = %v; the oracle says %v", text, msg, got, want)
			}
		}
	}
	// A reference reads the same value encoding/json does.
	p := MustCompile("{ " + sel + " = * }")
	r, err := p.Ref(sel)
	if err != nil {
		t.Fatalf("Ref(%q): %v", sel, err)
	}
	got := r.Lookup(msg)
	var want Value
	switch x := v.(type) {
	case nil:
		want = Value{Kind: Null}
	case bool:
		want = Value{Kind: Bool, b: []byte(strconv.FormatBool(x))}
	case string:
		want = Value{Kind: String, b: []byte(x)}
	case json.Number:
		want = Value{Kind: Number, b: []byte(x)}
	case map[string]any:
		want = Value{Kind: Object}
	case []any:
		want = Value{Kind: Array}
	}
	if got.Kind != want.Kind || got.String() != want.String() {
		t.Fatalf("Ref(%q).Lookup(%q) = %v %q; want %v %q", sel, msg, got.Kind, got.String(), want.Kind, want.String())
	}
}

func selectorText(path []step) string {
	var b strings.Builder
	for _, st := range path {
		switch st.kind {
		case stepKey:
			b.WriteString(".['" + st.key + "']")
		case stepIndex:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// quotePattern quotes s as a pattern string, as aws-cdk does.
func quotePattern(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

package pattern

import (
	"errors"
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

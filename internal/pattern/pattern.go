package pattern

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// MaxLength is the longest filter pattern AWS accepts, in characters.
const MaxLength = 1024

// Kind is the form a filter pattern takes, decided by its first character.
type Kind uint8

const (
	All            Kind = iota // empty or blank: every event matches
	Terms                      // words and "phrases", ?optional, -excluded
	Regex                      // one %regular expression%
	JSON                       // { selector conditions }
	SpaceDelimited             // [ field, field=condition, ... ]
)

func (k Kind) String() string {
	switch k {
	case All:
		return "all"
	case Terms:
		return "terms"
	case Regex:
		return "regex"
	case JSON:
		return "json"
	case SpaceDelimited:
		return "space-delimited"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Pattern is a compiled filter pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	text    string
	kind    Kind
	terms   *termMatcher
	re      *regexp.Regexp
	json    *jsonMatcher
	space   *spaceMatcher
	regexes int
}

// SyntaxError says what is wrong with a filter pattern and where. The Logs
// API returns it in an InvalidParameterException.
type SyntaxError struct {
	Offset int    // byte offset in the pattern
	Column int    // 1-based column, in characters
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid filter pattern at column %d: %s", e.Column, e.Msg)
}

func syntaxErr(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// quoteChar quotes the first character of s for an error message.
func quoteChar(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return strconv.QuoteRune(r)
}

// Compile parses a CloudWatch Logs filter pattern. Errors are *SyntaxError.
func Compile(text string) (*Pattern, error) {
	p, err := compile(text)
	if err != nil {
		if se, ok := err.(*SyntaxError); ok {
			se.Offset = min(max(se.Offset, 0), len(text))
			se.Column = utf8.RuneCountInString(text[:se.Offset]) + 1
		}
		return nil, err
	}
	return p, nil
}

// MustCompile is Compile for patterns known to be valid, such as built-in
// rule packs; it panics on error.
func MustCompile(text string) *Pattern {
	p, err := Compile(text)
	if err != nil {
		panic(fmt.Sprintf("pattern: MustCompile(%q): %v", text, err))
	}
	return p
}

func compile(text string) (*Pattern, error) {
	if !utf8.ValidString(text) {
		return nil, syntaxErr(firstInvalidUTF8(text), "filter pattern is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(text); n > MaxLength {
		return nil, syntaxErr(0, "filter pattern is %d characters long; the maximum is %d", n, MaxLength)
	}
	start := skipSpace(text, 0)
	end := len(text)
	for end > start && isSpace(text[end-1]) {
		end--
	}
	p := &Pattern{text: text}
	if start == end {
		p.kind = All
		return p, nil
	}
	var err error
	switch text[start] {
	case '{':
		p.kind = JSON
		if text[end-1] != '}' {
			return nil, syntaxErr(end, "a filter pattern that starts with '{' must end with '}'")
		}
		p.json, p.regexes, err = compileJSON(text, start, end)
	case '[':
		p.kind = SpaceDelimited
		if text[end-1] != ']' {
			return nil, syntaxErr(end, "a filter pattern that starts with '[' must end with ']'")
		}
		p.space, p.regexes, err = compileSpace(text, start, end)
	case '%':
		p.kind = Regex
		if end-start < 2 || text[end-1] != '%' {
			return nil, syntaxErr(end, "a filter pattern that starts with '%%' must end with '%%'")
		}
		p.regexes = 1
		p.re, err = compileRegex(text[start+1:end-1], start+1)
	default:
		p.kind = Terms
		p.terms, err = compileTerms(text, start, end)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// String returns the pattern as given to Compile.
func (p *Pattern) String() string { return p.text }

// Kind returns the pattern's form.
func (p *Pattern) Kind() Kind { return p.kind }

// RegexCount returns how many %regular expressions% the pattern holds; AWS
// limits how many regex-bearing filters a log group may have.
func (p *Pattern) RegexCount() int { return p.regexes }

// Match reports whether the log event message matches the pattern. It does
// not allocate for term and JSON patterns, and not for space-delimited ones
// of up to 16 fields after an ellipsis.
func (p *Pattern) Match(msg []byte) bool {
	switch p.kind {
	case All:
		return true
	case Terms:
		return p.terms.match(msg)
	case Regex:
		return p.re.Match(msg)
	case JSON:
		return p.json.match(msg)
	case SpaceDelimited:
		return p.space.run(msg, nil)
	}
	return false
}

// Extract reports whether msg matches and returns what TestMetricFilter
// shows as extractedValues: for space-delimited patterns each field's value
// keyed "$name" (named fields) or "$N" (the N-th token, for unnamed fields
// and those an ellipsis covers); an empty map for other patterns.
func (p *Pattern) Extract(msg []byte) (map[string]string, bool) {
	if p.kind != SpaceDelimited {
		if !p.Match(msg) {
			return nil, false
		}
		return map[string]string{}, true
	}
	var fields []field
	if !p.space.run(msg, &fields) {
		return nil, false
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		out[f.key()] = string(f.val)
	}
	return out, true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

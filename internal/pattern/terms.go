package pattern

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// termMatcher matches a term pattern: case-sensitive substrings of the
// whole message. Plain terms must all be present and -terms absent; ?terms
// form an OR group that counts only when there is nothing else (AWS ignores
// ?terms mixed with other terms).
type termMatcher struct {
	all, none, any [][]byte
}

func (m *termMatcher) match(msg []byte) bool {
	if len(m.all) == 0 && len(m.none) == 0 {
		for _, t := range m.any {
			if bytes.Contains(msg, t) {
				return true
			}
		}
		return false
	}
	for _, t := range m.all {
		if !bytes.Contains(msg, t) {
			return false
		}
	}
	for _, t := range m.none {
		if bytes.Contains(msg, t) {
			return false
		}
	}
	return true
}

// isBareTermRune reports whether r may appear in an unquoted term. Live AWS
// accepts letters (any script), digits, '_' and '.', and rejects '*', '!',
// ':', '/', '@' and the like, which must be quoted.
func isBareTermRune(r rune) bool {
	return r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// compileTerms parses text[start:end]: terms separated by spaces, each
// optionally prefixed by '-' (must be absent) or '?' (any of). A '-' or '?'
// inside a bare word starts a new term, as AWS reads "a-b" as "a -b".
func compileTerms(text string, start, end int) (*termMatcher, error) {
	m := &termMatcher{}
	i := start
	for {
		i = skipSpace(text[:end], i)
		if i >= end {
			break
		}
		termAt := i
		var prefix byte
		if c := text[i]; c == '-' || c == '?' {
			prefix = c
			i++
		}
		var term []byte
		switch {
		case i < end && text[i] == '"':
			var err error
			term, i, err = quoted(text[:end], i)
			if err != nil {
				return nil, err
			}
			if len(term) == 0 {
				return nil, syntaxErr(termAt, "empty quoted term \"\"")
			}
			if i < end && !isSpace(text[i]) {
				return nil, syntaxErr(i, "a quoted term must be followed by a space, found %s", quoteChar(text[i:]))
			}
		default:
			j := i
			for j < end {
				r, n := utf8.DecodeRuneInString(text[j:])
				if !isBareTermRune(r) {
					break
				}
				j += n
			}
			if j < end && !isSpace(text[j]) && text[j] != '-' && text[j] != '?' {
				if text[j] == '%' {
					return nil, syntaxErr(j, "invalid character '%%' in term: a %%regular expression%% must be the whole filter pattern")
				}
				return nil, syntaxErr(j, "invalid character %s in term; quote terms that contain anything but letters, digits, '_' and '.'", quoteChar(text[j:]))
			}
			if j == i {
				if prefix != 0 {
					return nil, syntaxErr(termAt, "'%c' must be followed by a term", prefix)
				}
				return nil, syntaxErr(j, "invalid character %s in term", quoteChar(text[j:]))
			}
			term, i = []byte(text[i:j]), j
		}
		switch prefix {
		case '-':
			m.none = append(m.none, term)
		case '?':
			m.any = append(m.any, term)
		default:
			m.all = append(m.all, term)
		}
	}
	return m, nil
}

// quoted reads a double-quoted string starting at text[i] == '"'. Inside,
// \" and \\ stand for " and \ (aws-cdk writes quoted terms that way); any
// other backslash is literal. It returns the content and the index after
// the closing quote.
func quoted(text string, i int) ([]byte, int, error) {
	open := i
	var out []byte
	for i++; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			if out == nil {
				out = []byte{}
			}
			return out, i + 1, nil
		case '\\':
			if i+1 < len(text) && (text[i+1] == '"' || text[i+1] == '\\') {
				i++
				out = append(out, text[i])
				continue
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return nil, open, syntaxErr(open, "unterminated quoted string: missing closing '\"'")
}

package pattern

import (
	"regexp"
	"strings"
)

// maxRegexes is AWS's limit of regular expressions in one filter pattern.
const maxRegexes = 2

// regexSymbols are the non-alphanumeric characters a CloudWatch Logs regular
// expression may contain: the documented symbols and operators. Anything
// else, including parentheses (even escaped) and non-ASCII, is rejected, as
// AWS does. The space is not in AWS's list, but AWS's own example
// %^starting|^initializing|^shutting down% uses one, so it is allowed.
const regexSymbols = ":_#=@/;,- ^$?[]{}|\\*+."

// compileRegex checks the CloudWatch Logs regular expression body (between
// the '%' signs, starting at byte off of the pattern) and compiles it with
// Go's RE2, whose matching time is linear in the input. AWS evidently runs
// java.util.regex, so the few constructs whose meaning differs are
// rewritten: '.' excludes Java's line terminators, '$' also matches before
// a final line terminator, and {,n} means {0,n}.
func compileRegex(body string, off int) (*regexp.Regexp, error) {
	if body == "" {
		return nil, syntaxErr(off, "empty regular expression %%%%")
	}
	var out strings.Builder
	inClass := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= 0x80 || !isAlnum(c) && !strings.ContainsRune(regexSymbols, rune(c)) {
			return nil, syntaxErr(off+i, "invalid character %s in regular expression: only letters, digits, %s are allowed (no parentheses)", quoteChar(body[i:]), regexSymbols)
		}
		switch {
		case c == '\\':
			if i+1 >= len(body) {
				return nil, syntaxErr(off+i, "regular expression ends with an unfinished escape '\\'")
			}
			i++
			e := body[i]
			switch {
			case e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S':
				out.WriteByte('\\')
				out.WriteByte(e)
			case e == 'x':
				if i+2 >= len(body) || !isHex(body[i+1]) || !isHex(body[i+2]) {
					return nil, syntaxErr(off+i-1, "\\x in a regular expression needs two hex digits, as in \\x3A")
				}
				out.WriteString(`\x`)
				out.WriteString(body[i+1 : i+3])
				i += 2
			case isAlnum(e) || e >= 0x80:
				return nil, syntaxErr(off+i-1, "failed to compile regular expression: unsupported escape \\%c (supported: \\d \\D \\s \\S \\w \\W \\xhh and escaped symbols)", e)
			case !strings.ContainsRune(regexSymbols, rune(e)):
				return nil, syntaxErr(off+i, "invalid character %s in regular expression (escaping does not make it allowed)", quoteChar(body[i:]))
			default:
				out.WriteByte('\\')
				out.WriteByte(e)
			}
		case inClass:
			switch c {
			case ']':
				inClass = false
			case '[':
				return nil, syntaxErr(off+i, "failed to compile regular expression: '[' inside a character class must be escaped")
			}
			out.WriteByte(c)
		case c == '[':
			inClass = true
			out.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal in Java and in RE2.
			if i+1 < len(body) && body[i+1] == '^' {
				out.WriteByte('^')
				i++
			}
			if i+1 < len(body) && body[i+1] == ']' {
				out.WriteString(`\]`)
				i++
			}
		case c == '.':
			out.WriteString(`[^\n\r\x{85}\x{2028}\x{2029}]`)
		case c == '$':
			out.WriteString(`(?:\r\n|[\n\r\x{85}\x{2028}\x{2029}])?\z`)
		case c == '{':
			j := strings.IndexByte(body[i:], '}')
			if j < 0 || !validBounds(body[i+1:i+j]) {
				return nil, syntaxErr(off+i, "failed to compile regular expression: '{' must start a repetition such as {3}, {2,5}, {2,} or {,5}")
			}
			b := body[i+1 : i+j]
			if strings.HasPrefix(b, ",") {
				b = "0" + b
			}
			out.WriteString("{" + b + "}")
			i += j
		default:
			out.WriteByte(c)
		}
	}
	if inClass {
		return nil, syntaxErr(off+len(body), "failed to compile regular expression: unterminated character class '['")
	}
	re, err := regexp.Compile(out.String())
	if err != nil {
		return nil, syntaxErr(off, "failed to compile regular expression: %v", err)
	}
	return re, nil
}

// validBounds reports whether b (the text between '{' and '}') is m, m, ,n
// or m,n with at least one bound.
func validBounds(b string) bool {
	lo, hi, comma := b, "", false
	if k := strings.IndexByte(b, ','); k >= 0 {
		lo, hi, comma = b[:k], b[k+1:], true
	}
	if !allDigits(lo) || !allDigits(hi) {
		return false
	}
	return lo != "" || comma && hi != ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

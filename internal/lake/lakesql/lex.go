package lakesql

import (
	"fmt"
	"strings"
)

// tokenKind classifies a piece of SQL text.
type tokenKind int

const (
	tkSpace   tokenKind = iota // whitespace
	tkComment                  // -- to end of line, or /* … */
	tkString                   // '…' with '' escapes (also E'…' is not special: Trino has none)
	tkQuoted                   // "…" quoted identifier with "" escapes
	tkIdent                    // bare identifier or keyword
	tkNumber                   // numeric literal
	tkPunct                    // operator or punctuation, one token per run of operator characters
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the statement
}

// SyntaxError is a statement the lexer cannot split into tokens, such as an unterminated string.
type SyntaxError struct {
	Pos int // byte offset
	Msg string
	src string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %s: %s", lineCol(e.src, e.Pos), e.Msg) }

// lineCol renders a byte offset as Trino does in its messages ("1:18").
func lineCol(src string, pos int) string {
	line, col := 1, 1
	for i := 0; i < pos && i < len(src); i++ {
		if src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%d:%d", line, col)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' || c == '$' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lex splits sql into tokens. Joining their texts gives sql back unchanged.
func lex(sql string) ([]token, error) {
	var toks []token
	for i := 0; i < len(sql); {
		start := i
		c := sql[i]
		kind := tkPunct
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			kind = tkSpace
			for i < len(sql) && strings.IndexByte(" \t\n\r\f\v", sql[i]) >= 0 {
				i++
			}
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			kind = tkComment
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			kind = tkComment
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{src: sql, Pos: i, Msg: "comment is not closed with */"}
			}
			i += 2 + end + 2
		case c == '\'':
			kind = tkString
			j, ok := closeQuote(sql, i, '\'')
			if !ok {
				return nil, &SyntaxError{src: sql, Pos: i, Msg: "string literal is not closed with '"}
			}
			i = j
		case c == '"':
			kind = tkQuoted
			j, ok := closeQuote(sql, i, '"')
			if !ok {
				return nil, &SyntaxError{src: sql, Pos: i, Msg: `quoted identifier is not closed with "`}
			}
			i = j
		case isDigit(c) || c == '.' && i+1 < len(sql) && isDigit(sql[i+1]):
			kind = tkNumber
			i = scanNumber(sql, i)
		case isIdentStart(c):
			kind = tkIdent
			for i < len(sql) && isIdentPart(sql[i]) {
				i++
			}
		default:
			// Operators are split character by character, except the two-character ones SQL uses,
			// so "=-1" stays "=" "-" "1" and "->" stays one token.
			i++
			if i < len(sql) {
				switch sql[start : i+1] {
				case "<=", ">=", "<>", "!=", "||", "->", "::", "=>", "**", "//":
					i++
				}
			}
		}
		toks = append(toks, token{kind: kind, text: sql[start:i], pos: start})
	}
	return toks, nil
}

// closeQuote returns the offset just after the quote that closes the literal opened at i.
// A doubled quote is an escaped one.
func closeQuote(s string, i int, q byte) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

func scanNumber(s string, i int) int {
	for i < len(s) && (isDigit(s[i]) || s[i] == '_') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			i = j
			for i < len(s) && isDigit(s[i]) {
				i++
			}
		}
	}
	return i
}

// code reports whether t is SQL rather than a literal, a quoted name or a comment.
func (t token) code() bool { return t.kind == tkIdent || t.kind == tkNumber || t.kind == tkPunct }

// is reports whether t is the keyword or identifier kw (case-insensitive).
func (t token) is(kw string) bool { return t.kind == tkIdent && strings.EqualFold(t.text, kw) }

package pattern

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits AWS puts on JSON patterns.
const (
	maxWildcardsPerSelector = 1
	maxWildcardsPerPattern  = 3
	maxConds                = 64 * len(bitset{}) // more than a 1024-character pattern can hold
	maxParenDepth           = 100
)

type opKind uint8

const (
	opEq opKind = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opIsNull
	opIsTrue
	opIsFalse
	opNotExists
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"}

func (o opKind) String() string { return opNames[o] }

func (o opKind) relational() bool { return o >= opLt && o <= opGe }

// cond is one comparison: selector, operator, value.
type cond struct {
	op   opKind
	lit  literal
	sel  int  // index in jsonMatcher.sels
	wild bool // the selector has a wildcard: the condition is about its elements
}

type stepKind uint8

const (
	stepKey   stepKind = iota // .name or .['name']
	stepIndex                 // [n]
	stepWild                  // .* or [*]: every element of an array or member of an object
)

type step struct {
	kind  stepKind
	key   string
	index int
}

// selector is a path such as $.userIdentity.type or $.resources[*].ARN.
type selector struct {
	text  string
	steps []step
}

func (s *selector) wildAt() int {
	for i, st := range s.steps {
		if st.kind == stepWild {
			return i
		}
	}
	return -1
}

// expr is a node of the condition tree: && and || over conditions.
type expr struct {
	kind byte // 'c' condition, '&' and, '|' or
	cond int
	kids []int
}

// jsonParser reads the inside of { }.
type jsonParser struct {
	s        string
	i, end   int
	m        *jsonMatcher
	selIndex map[string]int
	regexes  int
	wilds    int
	depth    int
}

// compileJSON compiles text[start:end], which starts with '{' and ends with '}'.
func compileJSON(text string, start, end int) (*jsonMatcher, int, error) {
	p := &jsonParser{s: text, i: start + 1, end: end - 1, m: &jsonMatcher{}, selIndex: map[string]int{}}
	p.skip()
	if p.i >= p.end {
		return nil, 0, syntaxErr(p.i, "empty JSON pattern: write conditions such as { $.eventName = ConsoleLogin }")
	}
	root, err := p.or()
	if err != nil {
		return nil, 0, err
	}
	p.skip()
	if p.peek() == ')' {
		return nil, 0, syntaxErr(p.i, "unbalanced parentheses: this ')' has no '('")
	}
	if p.i < p.end {
		return nil, 0, p.unexpected("&& or || between conditions")
	}
	p.m.root = root
	p.m.build()
	return p.m, p.regexes, nil
}

func (p *jsonParser) skip() { p.i = skipSpace(p.s[:p.end], p.i) }

func (p *jsonParser) peek() byte {
	if p.i < p.end {
		return p.s[p.i]
	}
	return 0
}

// unexpected reports what was found where something else was wanted.
func (p *jsonParser) unexpected(want string) error {
	if p.i >= p.end {
		return syntaxErr(p.i, "pattern ends where %s was expected", want)
	}
	tok := p.s[p.i:p.end]
	if n := strings.IndexFunc(tok, unicode.IsSpace); n > 0 {
		tok = tok[:n]
	}
	return syntaxErr(p.i, "expected %s, found %q", want, truncate(tok, 20))
}

func (p *jsonParser) addExpr(e expr) int {
	p.m.exprs = append(p.m.exprs, e)
	return len(p.m.exprs) - 1
}

// or := and ( "||" and )* — && binds tighter than ||, as AWS documents.
func (p *jsonParser) or() (int, error) {
	first, err := p.and()
	if err != nil {
		return 0, err
	}
	kids := []int{first}
	for {
		p.skip()
		if !strings.HasPrefix(p.s[p.i:p.end], "||") {
			break
		}
		p.i += 2
		k, err := p.and()
		if err != nil {
			return 0, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return p.addExpr(expr{kind: '|', kids: kids}), nil
}

// and := unary ( "&&" unary )*
func (p *jsonParser) and() (int, error) {
	first, err := p.unary()
	if err != nil {
		return 0, err
	}
	kids := []int{first}
	for {
		p.skip()
		if !strings.HasPrefix(p.s[p.i:p.end], "&&") {
			break
		}
		p.i += 2
		k, err := p.unary()
		if err != nil {
			return 0, err
		}
		kids = append(kids, k)
	}
	p.skip()
	if c := p.peek(); c != 0 && c != ')' && !strings.HasPrefix(p.s[p.i:p.end], "||") {
		w := p.word()
		switch strings.ToUpper(w) {
		case "AND", "OR":
			return 0, syntaxErr(p.i, "use && and || to combine conditions, not %s", w)
		}
		return 0, p.unexpected("&&, || or ')' after a condition")
	}
	if len(kids) == 1 {
		return first, nil
	}
	return p.addExpr(expr{kind: '&', kids: kids}), nil
}

// unary := "(" or ")" | cond
func (p *jsonParser) unary() (int, error) {
	p.skip()
	if p.peek() != '(' {
		return p.cond()
	}
	open := p.i
	p.i++
	if p.depth++; p.depth > maxParenDepth {
		return 0, syntaxErr(open, "parentheses nested more than %d deep", maxParenDepth)
	}
	e, err := p.or()
	if err != nil {
		return 0, err
	}
	p.depth--
	p.skip()
	if p.peek() != ')' {
		if p.i >= p.end {
			return 0, syntaxErr(open, "unbalanced parentheses: this '(' is never closed")
		}
		return 0, p.unexpected("')'")
	}
	p.i++
	return e, nil
}

// word returns the letters at p.i without consuming them.
func (p *jsonParser) word() string {
	j := p.i
	for j < p.end && ('a' <= p.s[j]|0x20 && p.s[j]|0x20 <= 'z') {
		j++
	}
	return p.s[p.i:j]
}

// cond := selector op value | selector IS (NULL|TRUE|FALSE) | selector NOT EXISTS
func (p *jsonParser) cond() (int, error) {
	p.skip()
	if p.peek() != '$' {
		if p.peek() == ')' {
			return 0, syntaxErr(p.i, "empty parentheses: expected a condition such as $.eventName = ConsoleLogin")
		}
		return 0, p.unexpected("a condition starting with a selector such as $.eventName")
	}
	selAt := p.i
	sel, err := p.selector()
	if err != nil {
		return 0, err
	}
	c := cond{}
	if w := sel.wildAt(); w >= 0 {
		c.wild = true
		if p.wilds++; p.wilds > maxWildcardsPerPattern {
			return 0, syntaxErr(selAt, "the filter pattern has more than %d wildcard selectors ($.* or [*]); the maximum is %d", maxWildcardsPerPattern, maxWildcardsPerPattern)
		}
	}
	p.skip()
	opAt := p.i
	switch rest := p.s[p.i:p.end]; {
	case strings.HasPrefix(rest, "=="):
		return 0, syntaxErr(opAt, "use = to compare, not ==")
	case strings.HasPrefix(rest, "!="):
		c.op, p.i = opNe, p.i+2
	case strings.HasPrefix(rest, "<="):
		c.op, p.i = opLe, p.i+2
	case strings.HasPrefix(rest, ">="):
		c.op, p.i = opGe, p.i+2
	case strings.HasPrefix(rest, "="):
		c.op, p.i = opEq, p.i+1
	case strings.HasPrefix(rest, "<"):
		c.op, p.i = opLt, p.i+1
	case strings.HasPrefix(rest, ">"):
		c.op, p.i = opGt, p.i+1
	default:
		if err := p.keyword(&c); err != nil {
			return 0, err
		}
	}
	if c.op <= opGe {
		p.skip()
		if c.lit, err = p.value(c.op); err != nil {
			return 0, err
		}
	}
	c.sel = p.addSelector(sel)
	if len(p.m.conds) >= maxConds {
		return 0, syntaxErr(selAt, "more than %d conditions", maxConds)
	}
	p.m.conds = append(p.m.conds, c)
	return p.addExpr(expr{kind: 'c', cond: len(p.m.conds) - 1}), nil
}

// keyword reads IS NULL, IS TRUE, IS FALSE or NOT EXISTS (any case, as AWS
// accepts "is null").
func (p *jsonParser) keyword(c *cond) error {
	at := p.i
	w := p.word()
	switch strings.ToUpper(w) {
	case "IS":
		p.i += len(w)
		p.skip()
		w2 := p.word()
		switch strings.ToUpper(w2) {
		case "NULL":
			c.op = opIsNull
		case "TRUE":
			c.op = opIsTrue
		case "FALSE":
			c.op = opIsFalse
		case "NOT":
			return syntaxErr(p.i, "IS NOT is not supported: use NOT EXISTS, or != with a value")
		default:
			return p.unexpected("NULL, TRUE or FALSE after IS")
		}
		p.i += len(w2)
	case "NOT":
		p.i += len(w)
		p.skip()
		w2 := p.word()
		if strings.ToUpper(w2) != "EXISTS" {
			return p.unexpected("EXISTS after NOT")
		}
		p.i += len(w2)
		c.op = opNotExists
	case "EXISTS":
		return syntaxErr(at, "EXISTS is not supported: use = * to require a value, or NOT EXISTS")
	default:
		return p.unexpected("an operator (=, !=, <, <=, >, >=, IS, NOT EXISTS)")
	}
	// The keyword must end there.
	if p.i < p.end && isWordByte(p.s[p.i]) {
		return p.unexpected("&&, || or ')' after " + c.op.String())
	}
	return nil
}

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// isNameRune reports whether r may appear in a selector's field name. AWS
// accepts letters, digits, '_' and '-' ($.a-b works); other names need the
// bracket form $.['name'].
func isNameRune(r rune) bool {
	return r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// selector reads $ followed by .name, .*, .['name'], [n] or [*] steps. The
// first step must start with '.' ($[0] and $['a'] are rejected by AWS).
func (p *jsonParser) selector() (*selector, error) {
	start := p.i
	p.i++ // $
	sel := &selector{}
	wilds := 0
	for p.i < p.end {
		c := p.s[p.i]
		if c != '.' && c != '[' {
			break
		}
		if c == '[' && len(sel.steps) == 0 {
			return nil, syntaxErr(p.i, "a selector starts with $. as in $.eventName or $.['name']")
		}
		at := p.i
		var st step
		switch {
		case c == '.' && p.i+1 < p.end && p.s[p.i+1] == '*':
			st.kind, p.i = stepWild, p.i+2
		case c == '.' && strings.HasPrefix(p.s[p.i:p.end], ".['"):
			j := strings.Index(p.s[p.i+3:p.end], "']")
			if j < 0 {
				return nil, syntaxErr(at, "unterminated .['name']: missing ']")
			}
			// .[''] names the empty key, which JSON allows.
			st.key, p.i = p.s[p.i+3:p.i+3+j], p.i+3+j+2
		case c == '.':
			j := p.i + 1
			for j < p.end {
				r, n := utf8.DecodeRuneInString(p.s[j:])
				if !isNameRune(r) {
					break
				}
				j += n
			}
			if j == p.i+1 {
				return nil, syntaxErr(p.i+1, "expected a field name after '.'; use $.['name'] for names with other characters")
			}
			st.key, p.i = p.s[p.i+1:j], j
		default: // '['
			close := strings.IndexByte(p.s[p.i:p.end], ']')
			if close < 0 {
				return nil, syntaxErr(at, "unterminated '[' in selector")
			}
			in := p.s[p.i+1 : p.i+close]
			switch {
			case in == "*":
				st.kind = stepWild
			case in != "" && allDigits(in):
				n, err := strconv.Atoi(in)
				if err != nil {
					return nil, syntaxErr(at, "array index %s is too large", in)
				}
				st.kind, st.index = stepIndex, n
			case strings.HasPrefix(in, "'"):
				return nil, syntaxErr(at, "write a quoted field name as .['name'], with the dot")
			default:
				return nil, syntaxErr(at, "array index must be a non-negative integer or *, found [%s]", truncate(in, 20))
			}
			p.i += close + 1
		}
		if st.kind == stepWild {
			if wilds++; wilds > maxWildcardsPerSelector {
				return nil, syntaxErr(at, "the selector %s has more than %d wildcard; the maximum is %d wildcard per JSON selector", p.s[start:p.i], maxWildcardsPerSelector, maxWildcardsPerSelector)
			}
		}
		sel.steps = append(sel.steps, st)
	}
	if len(sel.steps) == 0 {
		return nil, syntaxErr(start, "a selector needs a field after $, as in $.eventName")
	}
	// What follows a selector is space, an operator or the end.
	if p.i < p.end {
		switch c := p.s[p.i]; {
		case isSpace(c), c == '=', c == '!', c == '<', c == '>':
		default:
			return nil, syntaxErr(p.i, "invalid character %s in selector %s; use $.['name'] for field names with characters other than letters, digits, '_' and '-'", quoteChar(p.s[p.i:]), p.s[start:p.i])
		}
	}
	sel.text = p.s[start:p.i]
	return sel, nil
}

// addSelector returns the index of sel, sharing equal selectors so that a
// field is looked at once however many conditions name it.
func (p *jsonParser) addSelector(sel *selector) int {
	key := canonicalPath(sel.steps)
	if i, ok := p.selIndex[key]; ok {
		return i
	}
	p.m.sels = append(p.m.sels, *sel)
	p.selIndex[key] = len(p.m.sels) - 1
	return len(p.m.sels) - 1
}

func canonicalPath(steps []step) string {
	var b strings.Builder
	for _, st := range steps {
		switch st.kind {
		case stepKey:
			b.WriteString(".['")
			b.WriteString(st.key)
			b.WriteString("']")
		case stepIndex:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case stepWild:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// isBareValueRune reports whether r may appear in an unquoted value: live
// AWS rejects { $.a = a:b } ("Invalid character(s) in term ':'"), while
// documented examples use 123.123.*, +1000 and 4*.
func isBareValueRune(r rune) bool {
	return r == '_' || r == '.' || r == '-' || r == '*' || r == '+' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// value reads the right-hand side of a comparison.
func (p *jsonParser) value(op opKind) (literal, error) {
	at := p.i
	if p.i >= p.end {
		return literal{}, syntaxErr(at, "missing value after %s", op)
	}
	switch p.s[p.i] {
	case '"':
		s, next, err := quoted(p.s[:p.end], p.i)
		if err != nil {
			return literal{}, err
		}
		p.i = next
		if op.relational() {
			return literal{}, syntaxErr(at, "%s compares numbers; %s is a quoted string", op, truncate(p.s[at:next], 30))
		}
		if err := p.valueEnd(); err != nil {
			return literal{}, err
		}
		return stringLiteral(string(s)), nil
	case '%':
		j := strings.IndexByte(p.s[p.i+1:p.end], '%')
		if j < 0 {
			return literal{}, syntaxErr(at, "unterminated regular expression: missing closing '%%'")
		}
		if op.relational() {
			return literal{}, syntaxErr(at, "a regular expression can only be used with = and !=, not %s", op)
		}
		if p.regexes++; p.regexes > maxRegexes {
			return literal{}, syntaxErr(at, "the filter pattern has more than %d regular expressions; the maximum is %d per filter pattern", maxRegexes, maxRegexes)
		}
		re, err := compileRegex(p.s[p.i+1:p.i+1+j], p.i+1)
		if err != nil {
			return literal{}, err
		}
		p.i += j + 2
		if err := p.valueEnd(); err != nil {
			return literal{}, err
		}
		return literal{kind: litRegex, text: p.s[at:p.i], re: re}, nil
	}
	j := p.i
	for j < p.end {
		c := p.s[j]
		if isSpace(c) || c == ')' || c == '&' || c == '|' {
			break
		}
		r, n := utf8.DecodeRuneInString(p.s[j:])
		if !isBareValueRune(r) {
			return literal{}, syntaxErr(j, "invalid character %s in value; quote values that contain anything but letters, digits, and _ . - * +", quoteChar(p.s[j:]))
		}
		j += n
	}
	word := p.s[p.i:j]
	if word == "" {
		return literal{}, syntaxErr(at, "missing value after %s", op)
	}
	p.i = j
	lit, err := bareLiteral(word, at)
	if err != nil {
		return literal{}, err
	}
	if op.relational() && lit.kind != litNumber {
		return literal{}, syntaxErr(at, "%s compares numbers; %q is not a number", op, truncate(word, 30))
	}
	return lit, nil
}

// valueEnd checks that a quoted value or regex is followed by a separator.
func (p *jsonParser) valueEnd() error {
	if p.i < p.end {
		if c := p.s[p.i]; !isSpace(c) && c != ')' && c != '&' && c != '|' {
			return p.unexpected("space, ')', && or || after the value")
		}
	}
	return nil
}

// bareLiteral classifies an unquoted value: *, a number, or a string with
// optional leading/trailing wildcards. true and false are strings (AWS:
// { $.a = true } matches "true" but not the boolean); null is refused.
func bareLiteral(word string, at int) (literal, error) {
	switch {
	case isAllStars(word):
		return literal{kind: litAny, text: word}, nil
	case strings.EqualFold(word, "null"):
		return literal{}, syntaxErr(at, "null cannot be compared with =; use IS NULL")
	case isNumberText([]byte(word)):
		d, ok := parseDecimal([]byte(word))
		if !ok {
			return literal{}, syntaxErr(at, "number %s is out of range", truncate(word, 30))
		}
		return literal{kind: litNumber, text: word, num: d}, nil
	}
	return stringLiteral(word), nil
}

func stringLiteral(s string) literal {
	if s != "" && isAllStars(s) {
		return literal{kind: litAny, text: s}
	}
	return literal{kind: litString, text: s, glob: newGlob(s)}
}

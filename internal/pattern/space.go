package pattern

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// spaceMatcher matches a space-delimited pattern [f1, f2=cond, ..., fn].
//
// The message is split into tokens at whitespace; a token that starts with
// '"' or '[' runs to the matching '"' or ']' (spaces included, delimiters
// dropped), or, when there is none, to the next whitespace. Without an
// ellipsis the message needs at least as many tokens as there are fields,
// and the last field takes the rest of the line, as written, when more
// tokens follow (live AWS: [a, rest] on "a b c" gives $rest = "b c"). With
// an ellipsis the fields before it take the first tokens, those after it
// the last tokens, and the ellipsis any number in between. [] behaves like
// [...]: every message matches.
type spaceMatcher struct {
	before, after []sfield
	ellipsis      bool
}

type sfield struct {
	name string // "" for an unnamed field
	cond *scond // nil: any value
}

// scond is a field's condition: comparisons joined by && and ||.
type scond struct {
	kind byte // 'c' comparison, '&' and, '|' or
	op   opKind
	lit  literal
	kids []*scond
}

// field is one extracted value.
type field struct {
	pos  int // 1-based token position
	name string
	val  []byte
}

func (f *field) key() string {
	if f.name != "" {
		return "$" + f.name
	}
	return "$" + strconv.Itoa(f.pos)
}

type spaceParser struct {
	s       string
	i, end  int
	regexes int
}

func compileSpace(text string, start, end int) (*spaceMatcher, int, error) {
	p := &spaceParser{s: text, i: start + 1, end: end - 1}
	sm := &spaceMatcher{}
	seen := map[string]bool{}
	p.skip()
	if p.i >= p.end { // []
		sm.ellipsis = true
		return sm, 0, nil
	}
	for {
		p.skip()
		at := p.i
		switch {
		case strings.HasPrefix(p.s[p.i:p.end], "..."):
			if sm.ellipsis {
				return nil, 0, syntaxErr(at, "duplicate field '...': a pattern can have only one ellipsis")
			}
			sm.ellipsis = true
			p.i += 3
		case p.i >= p.end || p.s[p.i] == ',':
			sm.add(sfield{})
		default:
			f, err := p.field()
			if err != nil {
				return nil, 0, err
			}
			if seen[f.name] {
				return nil, 0, syntaxErr(at, "duplicate field %q", f.name)
			}
			seen[f.name] = true
			sm.add(f)
		}
		p.skip()
		if p.i >= p.end {
			break
		}
		if p.s[p.i] != ',' {
			return nil, 0, p.unexpected("',' between fields")
		}
		p.i++
	}
	return sm, p.regexes, nil
}

func (sm *spaceMatcher) add(f sfield) {
	if sm.ellipsis {
		sm.after = append(sm.after, f)
	} else {
		sm.before = append(sm.before, f)
	}
}

func (p *spaceParser) skip() { p.i = skipSpace(p.s[:p.end], p.i) }

func (p *spaceParser) unexpected(want string) error {
	if p.i >= p.end {
		return syntaxErr(p.i, "pattern ends where %s was expected", want)
	}
	tok := p.s[p.i:p.end]
	if n := strings.IndexAny(tok, " \t,"); n > 0 {
		tok = tok[:n]
	}
	return syntaxErr(p.i, "expected %s, found %q", want, truncate(tok, 20))
}

// field reads "name" or "name op value" comparisons joined by && and ||,
// all about the same field.
func (p *spaceParser) field() (sfield, error) {
	at := p.i
	name, err := p.name()
	if err != nil {
		return sfield{}, err
	}
	p.skip()
	if p.i >= p.end || p.s[p.i] == ',' {
		return sfield{name: name}, nil
	}
	p.i = at // re-read the name as part of the first comparison
	c, err := p.or(name)
	if err != nil {
		return sfield{}, err
	}
	return sfield{name: name, cond: c}, nil
}

func (p *spaceParser) name() (string, error) {
	at := p.i
	j := p.i
	for j < p.end {
		c := p.s[j]
		if !(isAlnum(c) || c == '_' || c == '-') {
			break
		}
		j++
	}
	n := p.s[at:j]
	switch {
	case n == "":
		if p.i < p.end && strings.ContainsRune("=!<>", rune(p.s[p.i])) {
			return "", syntaxErr(at, "a condition needs a field name before %s, as in status=404", quoteChar(p.s[p.i:]))
		}
		return "", syntaxErr(at, "invalid character %s in field name; names are letters, digits, '_' and '-'", quoteChar(p.s[p.i:]))
	case isDigit(n[0]) || n[0] == '-':
		return "", syntaxErr(at, "field name %q must start with a letter or '_'", n)
	}
	p.i = j
	return n, nil
}

func (p *spaceParser) or(field string) (*scond, error) {
	first, err := p.and(field)
	if err != nil {
		return nil, err
	}
	kids := []*scond{first}
	for {
		p.skip()
		if !strings.HasPrefix(p.s[p.i:p.end], "||") {
			break
		}
		p.i += 2
		k, err := p.and(field)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &scond{kind: '|', kids: kids}, nil
}

func (p *spaceParser) and(field string) (*scond, error) {
	first, err := p.cmp(field)
	if err != nil {
		return nil, err
	}
	kids := []*scond{first}
	for {
		p.skip()
		if !strings.HasPrefix(p.s[p.i:p.end], "&&") {
			break
		}
		p.i += 2
		k, err := p.cmp(field)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &scond{kind: '&', kids: kids}, nil
}

// cmp reads "name op value".
func (p *spaceParser) cmp(field string) (*scond, error) {
	p.skip()
	at := p.i
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	if name != field {
		return nil, syntaxErr(at, "a field's conditions must all be about that field: found %s and %s (conditions across fields are not supported)", field, name)
	}
	p.skip()
	c := &scond{kind: 'c'}
	switch rest := p.s[p.i:p.end]; {
	case strings.HasPrefix(rest, "=="):
		return nil, syntaxErr(p.i, "use = to compare, not ==")
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
		return nil, p.unexpected("an operator (=, !=, <, <=, >, >=) after " + name)
	}
	p.skip()
	if c.lit, err = p.value(c.op); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *spaceParser) value(op opKind) (literal, error) {
	at := p.i
	if p.i >= p.end || p.s[p.i] == ',' {
		return literal{}, syntaxErr(at, "missing value after %s", op)
	}
	var lit literal
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
		lit = stringLiteral(string(s))
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
		lit = literal{kind: litRegex, text: p.s[at:p.i], re: re}
	default:
		j := p.i
		for j < p.end {
			c := p.s[j]
			if isSpace(c) || c == ',' || c == '&' || c == '|' {
				break
			}
			r, n := utf8.DecodeRuneInString(p.s[j:])
			if !isBareValueRune(r) {
				return literal{}, syntaxErr(j, "invalid character %s in value; quote values that contain anything but letters, digits, and _ . - * +", quoteChar(p.s[j:]))
			}
			j += n
		}
		word := p.s[p.i:j]
		p.i = j
		switch {
		case isAllStars(word):
			lit = literal{kind: litAny, text: word}
		case isNumberText([]byte(word)):
			d, ok := parseDecimal([]byte(word))
			if !ok {
				return literal{}, syntaxErr(at, "number %s is out of range", truncate(word, 30))
			}
			lit = literal{kind: litNumber, text: word, num: d}
		default:
			lit = stringLiteral(word)
		}
		if op.relational() && lit.kind != litNumber {
			return literal{}, syntaxErr(at, "%s compares numbers; %q is not a number", op, truncate(word, 30))
		}
	}
	if p.i < p.end {
		if c := p.s[p.i]; !isSpace(c) && c != ',' && c != '&' && c != '|' {
			return literal{}, p.unexpected("',', && or || after the value")
		}
	}
	return lit, nil
}

func (c *scond) test(v []byte) bool {
	switch c.kind {
	case '&':
		for _, k := range c.kids {
			if !k.test(v) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range c.kids {
			if k.test(v) {
				return true
			}
		}
		return false
	}
	var buf [32]byte
	lit := &c.lit
	if c.op.relational() {
		d, ok := eventNumber(v, &buf)
		if !ok {
			return false
		}
		x := cmpDecimal(d, lit.num)
		switch c.op {
		case opLt:
			return x < 0
		case opLe:
			return x <= 0
		case opGt:
			return x > 0
		}
		return x >= 0
	}
	eq := false
	switch lit.kind {
	case litAny:
		eq = true
	case litNumber:
		// Tokens are text: a numeric token compares as a number ([a=1]
		// matches "1.0"), anything else by its text.
		if d, ok := eventNumber(v, &buf); ok {
			eq = cmpDecimal(d, lit.num) == 0
		} else {
			eq = string(v) == lit.text
		}
	case litString:
		eq = lit.glob.match(v)
	case litRegex:
		eq = lit.re.Match(v)
	}
	if c.op == opEq {
		return eq
	}
	return !eq
}

func (f *sfield) test(v []byte) bool { return f.cond == nil || f.cond.test(v) }

// token is one whitespace-delimited token: raw is where it starts in the
// message (its opening quote or bracket), [start, end) its content.
type token struct{ raw, start, end int }

func nextToken(msg []byte, i int) (token, int, bool) {
	for i < len(msg) && isSpace(msg[i]) {
		i++
	}
	if i >= len(msg) {
		return token{}, i, false
	}
	if c := msg[i]; c == '"' || c == '[' {
		closer := byte('"')
		if c == '[' {
			closer = ']'
		}
		if j := bytes.IndexByte(msg[i+1:], closer); j >= 0 {
			return token{raw: i, start: i + 1, end: i + 1 + j}, i + 2 + j, true
		}
	}
	j := i
	for j < len(msg) && !isSpace(msg[j]) {
		j++
	}
	return token{raw: i, start: i, end: j}, j, true
}

// run matches msg and, when out is not nil, appends every field's value.
func (sm *spaceMatcher) run(msg []byte, out *[]field) bool {
	i, pos := 0, 0
	for k := range sm.before {
		t, next, ok := nextToken(msg, i)
		if !ok {
			return false
		}
		pos++
		val := msg[t.start:t.end]
		if !sm.ellipsis && k == len(sm.before)-1 {
			if _, _, more := nextToken(msg, next); more {
				val = msg[t.raw:] // the last field takes the rest of the line
			}
		}
		f := &sm.before[k]
		if !f.test(val) {
			return false
		}
		if out != nil {
			*out = append(*out, field{pos: pos, name: f.name, val: val})
		}
		i = next
	}
	if !sm.ellipsis {
		return true
	}
	// The fields after the ellipsis take the last len(after) tokens.
	na := len(sm.after)
	var ringBuf [16]token
	var ring []token // the last na tokens seen, or all of them when extracting
	if na <= len(ringBuf) {
		ring = ringBuf[:0:na]
	}
	var all []token
	n := 0
	for {
		t, next, ok := nextToken(msg, i)
		if !ok {
			break
		}
		i = next
		n++
		switch {
		case out != nil:
			all = append(all, t)
		case na == 0:
		case len(ring) < na:
			ring = append(ring, t)
		default:
			ring[(n-1)%na] = t
		}
	}
	if n < na {
		return false
	}
	tokAt := func(j int) token { // j-th of the n remaining tokens, 0-based
		if out != nil {
			return all[j]
		}
		return ring[j%na]
	}
	for k := range sm.after {
		t := tokAt(n - na + k)
		if !sm.after[k].test(msg[t.start:t.end]) {
			return false
		}
	}
	if out != nil {
		for j := 0; j < n; j++ {
			t := all[j]
			f := field{pos: pos + j + 1, val: msg[t.start:t.end]}
			if j >= n-na {
				f.name = sm.after[j-(n-na)].name
			}
			*out = append(*out, f)
		}
	}
	return true
}

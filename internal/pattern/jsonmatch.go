package pattern

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
	"unicode/utf8"
)

// How a JSON pattern is matched
//
// The message is read once, left to right, by a validating scanner. The
// selectors of the pattern form a trie; while the scanner is inside a part
// of the document that some selector leads into, it tracks which trie nodes
// the current path has reached (at most four: one literal path plus one per
// wildcard). Everything else is skipped by a fast validating skipper. Each
// condition is evaluated where its selector ends, into bitsets; the && / ||
// tree is evaluated over those bits at the end. Nothing is allocated.
//
// The semantics, including the odd corners, follow live AWS observations
// recorded in testdata/aws-observed.jsonl:
//   - the message must be a single valid JSON object, else nothing matches;
//   - a duplicate key replaces the earlier one (last wins), as in Jackson;
//   - a selector with a wildcard matches if some element satisfies the
//     condition; for != it matches if the part before the wildcard exists
//     and no element equals the value; NOT EXISTS if no element exists.

type bitset [3]uint64

func (b *bitset) set(i int)        { b[i>>6] |= 1 << (i & 63) }
func (b *bitset) has(i int) bool   { return b[i>>6]&(1<<(i&63)) != 0 }
func (b *bitset) clearBit(i int)   { b[i>>6] &^= 1 << (i & 63) }
func (b *bitset) andNot(m *bitset) { b[0] &^= m[0]; b[1] &^= m[1]; b[2] &^= m[2] }
func (b *bitset) or(m *bitset)     { b[0] |= m[0]; b[1] |= m[1]; b[2] |= m[2] }
func (b *bitset) put(i int, v bool) {
	if v {
		b.set(i)
	} else {
		b.clearBit(i)
	}
}

// maxDepth bounds JSON nesting (Jackson's default limit); deeper messages
// match no JSON pattern.
const maxDepth = 1000

// maxActive bounds the trie nodes one JSON path can reach: the literal path
// plus one per wildcard selector (at most three per pattern).
const maxActive = 1 + maxWildcardsPerPattern

type keyEdge struct {
	key   []byte
	child int32
}

type idxEdge struct {
	index int
	child int32
}

// tnode is a trie node: a position some selectors pass through.
type tnode struct {
	keys    []keyEdge
	idx     []idxEdge
	wild    int32 // child through .* or [*], or -1
	leaf    []int // conditions whose selector ends here
	hasKids bool
	// Entering this node (reaching its position in the message) resets the
	// state of conditions below it: a later duplicate key replaces an earlier
	// one.
	clearF  bitset // plain conditions below
	clearBA bitset // wildcard conditions whose wildcard is below
	clearP  bitset // wildcard conditions whose wildcard is above: a new element
	setB    bitset // wildcard conditions whose wildcard applies to this node's value
	commit  bitset // wildcard conditions whose element this node is: fold its result
	viaWild bool
	// Arrays here need to know whether an element is null (IS NULL quirk).
	wantNull bool
}

type jsonMatcher struct {
	sels  []selector
	conds []cond
	exprs []expr
	root  int
	trie  []tnode
	need  *need // prefilter: literals a matching message must contain
}

// build makes the selector trie and the per-node masks.
func (m *jsonMatcher) build() {
	m.trie = []tnode{{wild: -1}}
	paths := make([][]int32, len(m.sels)) // each selector's trie nodes, root first
	for si := range m.sels {
		path := []int32{0}
		n := int32(0)
		for _, st := range m.sels[si].steps {
			n = m.child(n, st)
			path = append(path, n)
		}
		paths[si] = path
	}
	for ci := range m.conds {
		c := &m.conds[ci]
		path := paths[c.sel]
		leaf := path[len(path)-1]
		m.trie[leaf].leaf = append(m.trie[leaf].leaf, ci)
		if c.op == opIsNull && !c.wild {
			m.trie[leaf].wantNull = true
		}
		w := m.sels[c.sel].wildAt()
		for depth, n := range path {
			t := &m.trie[n]
			switch {
			case !c.wild:
				t.clearF.set(ci)
			case depth <= w: // at or above the node whose elements the wildcard ranges over
				t.clearBA.set(ci)
			default:
				t.clearP.set(ci)
			}
		}
		if c.wild {
			m.trie[path[w]].setB.set(ci)
			m.trie[path[w+1]].commit.set(ci)
		}
	}
	for i := range m.trie {
		t := &m.trie[i]
		t.hasKids = len(t.keys) > 0 || len(t.idx) > 0 || t.wild >= 0
	}
	m.need = m.prefilter()
}

func (m *jsonMatcher) child(n int32, st step) int32 {
	t := &m.trie[n]
	switch st.kind {
	case stepKey:
		for _, e := range t.keys {
			if string(e.key) == st.key {
				return e.child
			}
		}
	case stepIndex:
		for _, e := range t.idx {
			if e.index == st.index {
				return e.child
			}
		}
	case stepWild:
		if t.wild >= 0 {
			return t.wild
		}
	}
	c := int32(len(m.trie))
	m.trie = append(m.trie, tnode{wild: -1, viaWild: st.kind == stepWild})
	t = &m.trie[n] // append may have moved it
	switch st.kind {
	case stepKey:
		t.keys = append(t.keys, keyEdge{key: []byte(st.key), child: c})
	case stepIndex:
		t.idx = append(t.idx, idxEdge{index: st.index, child: c})
	case stepWild:
		t.wild = c
	}
	return c
}

// nodeSet is the set of trie nodes the current position has reached.
type nodeSet struct {
	n   int
	ids [maxActive]int32
}

func (s *nodeSet) add(id int32) {
	if s.n < maxActive {
		s.ids[s.n] = id
		s.n++
	}
}

// keyChild returns the child of t for key, or -1.
func (t *tnode) keyChild(key []byte) int32 {
	for i := range t.keys {
		if k := t.keys[i].key; len(k) == len(key) && string(k) == string(key) {
			return t.keys[i].child
		}
	}
	return -1
}

func (m *jsonMatcher) childKey(set *nodeSet, key []byte, out *nodeSet) {
	out.n = 0
	for k := 0; k < set.n; k++ {
		t := &m.trie[set.ids[k]]
		if c := t.keyChild(key); c >= 0 {
			out.add(c)
		}
		if t.wild >= 0 {
			out.add(t.wild)
		}
	}
}

func (m *jsonMatcher) childIndex(set *nodeSet, index int, out *nodeSet) {
	out.n = 0
	for k := 0; k < set.n; k++ {
		t := &m.trie[set.ids[k]]
		for i := range t.idx {
			if t.idx[i].index == index {
				out.add(t.idx[i].child)
				break
			}
		}
		if t.wild >= 0 {
			out.add(t.wild)
		}
	}
}

// jstate is the per-match state; it lives on the stack.
type jstate struct {
	f, r   bitset // plain conditions: selector resolved; condition holds
	b, a   bitset // wildcard conditions: base resolved; some element satisfied
	fa     bitset // wildcard conditions: some element resolved
	pf, p  bitset // wildcard conditions: current element resolved; satisfied
	strBuf [256]byte
}

func (st *jstate) enter(t *tnode) {
	st.f.andNot(&t.clearF)
	st.b.andNot(&t.clearBA)
	st.a.andNot(&t.clearBA)
	st.fa.andNot(&t.clearBA)
	st.pf.andNot(&t.clearP)
	st.b.or(&t.setB)
}

func (st *jstate) commit(t *tnode) {
	for w := range st.pf {
		x := st.pf[w] & t.commit[w]
		st.fa[w] |= x
		st.a[w] |= st.p[w] & x
	}
}

func (m *jsonMatcher) match(msg []byte) bool {
	if m.need != nil && !m.need.holds(msg) && bytes.IndexByte(msg, '\\') < 0 {
		// Without a backslash the message's strings are their own bytes, so
		// a literal the pattern needs cannot be hiding in an escape.
		return false
	}
	var st jstate
	i := skipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return false
	}
	s := scanner{b: msg, i: i}
	root := nodeSet{n: 1}
	if !m.value(&s, &st, root, 0) {
		return false
	}
	if skipWS(msg, s.i) != len(msg) {
		return false
	}
	return m.eval(&st, m.root)
}

func (m *jsonMatcher) eval(st *jstate, e int) bool {
	x := &m.exprs[e]
	switch x.kind {
	case '&':
		for _, k := range x.kids {
			if !m.eval(st, k) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range x.kids {
			if m.eval(st, k) {
				return true
			}
		}
		return false
	}
	c := x.cond
	cd := &m.conds[c]
	if !cd.wild {
		if cd.op == opNotExists {
			return !st.f.has(c)
		}
		return st.f.has(c) && st.r.has(c)
	}
	switch cd.op {
	case opNotExists:
		return !st.fa.has(c)
	case opNe:
		return st.b.has(c) && !st.a.has(c)
	}
	return st.a.has(c)
}

type scanner struct {
	b []byte
	i int
}

// value reads the value at s.i, which the nodes of set have reached.
func (m *jsonMatcher) value(s *scanner, st *jstate, set nodeSet, depth int) bool {
	kids, wantNull := false, false
	for k := 0; k < set.n; k++ {
		t := &m.trie[set.ids[k]]
		st.enter(t)
		kids = kids || t.hasKids
		wantNull = wantNull || t.wantNull
	}
	b := s.b
	i := s.i
	if i >= len(b) {
		return false
	}
	var v jval
	switch c := b[i]; {
	case c == '{':
		v.kind = kObject
		if !kids {
			end, ok := skipValue(b, i, depth)
			if !ok {
				return false
			}
			s.i = end
		} else if !m.object(s, st, set, depth) {
			return false
		}
	case c == '[':
		v.kind = kArray
		if !kids && !wantNull {
			end, ok := skipValue(b, i, depth)
			if !ok {
				return false
			}
			s.i = end
		} else {
			ok, null := m.array(s, st, set, depth)
			if !ok {
				return false
			}
			v.directNull = null
		}
	case c == '"':
		end, esc, ok := scanString(b, i+1)
		if !ok {
			return false
		}
		v.kind, v.raw, v.esc = kString, b[i+1:end], esc
		s.i = end + 1
	case c == 't' || c == 'f' || c == 'n':
		end, kind, ok := scanLiteral(b, i)
		if !ok {
			return false
		}
		v.kind = kind
		s.i = end
	default:
		end, ok := scanNumber(b, i)
		if !ok {
			return false
		}
		v.kind, v.raw = kNumber, b[i:end]
		s.i = end
	}
	for k := 0; k < set.n; k++ {
		t := &m.trie[set.ids[k]]
		for _, ci := range t.leaf {
			c := &m.conds[ci]
			if c.wild {
				op := c.op
				if op == opNe {
					op = opEq // != over elements is "none equal"
				}
				st.pf.set(ci)
				st.p.put(ci, op == opNotExists || v.test(op, &c.lit, true, st))
			} else {
				st.f.set(ci)
				st.r.put(ci, c.op == opNotExists || v.test(c.op, &c.lit, false, st))
			}
		}
		if t.viaWild {
			st.commit(t)
		}
	}
	return true
}

func (m *jsonMatcher) object(s *scanner, st *jstate, set nodeSet, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	b := s.b
	i := skipWS(b, s.i+1)
	if i < len(b) && b[i] == '}' {
		s.i = i + 1
		return true
	}
	var keyBuf [64]byte
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end, esc, ok := scanString(b, i+1)
		if !ok {
			return false
		}
		key := b[i+1 : end]
		if esc {
			key = unescape(keyBuf[:0], key)
		}
		i = end + 1
		if i < len(b) && b[i] != ':' {
			i = skipWS(b, i)
		}
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		var child nodeSet
		m.childKey(&set, key, &child)
		if child.n == 0 {
			if i, ok = skipValue(b, i, depth+1); !ok {
				return false
			}
		} else {
			s.i = i
			if !m.value(s, st, child, depth+1) {
				return false
			}
			i = s.i
		}
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
			if i < len(b) && b[i] <= ' ' {
				i = skipWS(b, i)
			}
		case '}':
			s.i = i + 1
			return true
		default:
			return false
		}
	}
}

// array reads an array; it also reports whether an element is null.
func (m *jsonMatcher) array(s *scanner, st *jstate, set nodeSet, depth int) (ok, null bool) {
	if depth >= maxDepth {
		return false, false
	}
	b := s.b
	i := skipWS(b, s.i+1)
	if i < len(b) && b[i] == ']' {
		s.i = i + 1
		return true, false
	}
	for index := 0; ; index++ {
		if i >= len(b) {
			return false, false
		}
		if b[i] == 'n' {
			null = true // validated as null below
		}
		var child nodeSet
		m.childIndex(&set, index, &child)
		if child.n == 0 {
			if i, ok = skipValue(b, i, depth+1); !ok {
				return false, false
			}
		} else {
			s.i = i
			if !m.value(s, st, child, depth+1) {
				return false, false
			}
			i = s.i
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return false, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			s.i = i + 1
			return true, null
		default:
			return false, false
		}
	}
}

// Kinds of JSON value.
const (
	kString byte = iota + 1
	kNumber
	kTrue
	kFalse
	kNull
	kObject
	kArray
)

// jval is a value found where a selector ends. It holds no buffers of its
// own: a struct pointing into itself would have to live on the heap.
type jval struct {
	kind       byte
	raw        []byte // string content as written (escapes included), or number text
	esc        bool
	directNull bool // an array with a null element
}

// text returns what strings, wildcards and regular expressions compare
// against: a string's unescaped content, or a number's canonical text.
func (v *jval) text(canon *[32]byte, st *jstate) []byte {
	switch {
	case v.kind == kNumber:
		return appendCanonical(canon[:0], v.raw)
	case v.esc:
		return unescape(st.strBuf[:0], v.raw)
	}
	return v.raw
}

// matchRegex runs re over the value's text. regexp lets its input escape,
// so decoded text gets a buffer of its own here rather than the stack's.
func (v *jval) matchRegex(re *regexp.Regexp) bool {
	switch {
	case v.kind == kNumber:
		return re.Match(appendCanonical(nil, v.raw))
	case v.esc:
		return re.Match(unescape(nil, v.raw))
	}
	return re.Match(v.raw)
}

// test evaluates op against the value; see the package documentation for
// the type rules. wild says the value is an element reached through a
// wildcard.
func (v *jval) test(op opKind, lit *literal, wild bool, st *jstate) bool {
	switch op {
	case opIsNull:
		// Live AWS: { $.a IS NULL } matches {"a":[null,2]}, but not through a
		// wildcard ({ $.a[*] IS NULL } does not match {"a":[[null]]}).
		return v.kind == kNull || !wild && v.kind == kArray && v.directNull
	case opIsTrue:
		return v.kind == kTrue
	case opIsFalse:
		return v.kind == kFalse
	}
	if v.kind != kString && v.kind != kNumber {
		return false // booleans, null, objects and arrays satisfy no comparison
	}
	var buf [32]byte
	if op.relational() {
		if v.kind != kNumber {
			return false // { $.a > 0 } does not match "1"
		}
		d, ok := eventNumber(v.raw, &buf)
		if !ok {
			return false
		}
		c := cmpDecimal(d, lit.num)
		switch op {
		case opLt:
			return c < 0
		case opLe:
			return c <= 0
		case opGt:
			return c > 0
		}
		return c >= 0
	}
	eq := false
	switch lit.kind {
	case litAny:
		eq = true
	case litNumber:
		if v.kind == kNumber {
			d, ok := eventNumber(v.raw, &buf)
			if !ok {
				return false // 1e309 is neither = nor != anything numeric
			}
			eq = cmpDecimal(d, lit.num) == 0
		} else {
			eq = string(v.text(&buf, st)) == lit.text // "1" = 1 but "01" != 1
		}
	case litString:
		eq = lit.glob.match(v.text(&buf, st))
	case litRegex:
		eq = v.matchRegex(lit.re)
	}
	if op == opEq {
		return eq
	}
	return !eq
}

// need is a necessary condition on the raw message: literals that must
// appear in it for the pattern to possibly match.
type need struct {
	op   byte // 'l' literal, '&' all, '|' any
	lit  []byte
	kids []need
}

func (n *need) holds(msg []byte) bool {
	switch n.op {
	case 'l':
		return bytes.Contains(msg, n.lit)
	case '&':
		for i := range n.kids {
			if !n.kids[i].holds(msg) {
				return false
			}
		}
		return true
	}
	for i := range n.kids {
		if n.kids[i].holds(msg) {
			return true
		}
	}
	return false
}

// The prefilter checks literals with bytes.Contains, each a pass over the
// message; beyond a few passes, scanning the message costs less.
const (
	maxNeedLiterals = 4
	minShared       = 3 // shortest substring worth standing for several literals
)

func (m *jsonMatcher) prefilter() *need {
	n, ok := m.needOf(m.root)
	if !ok || n.count() > maxNeedLiterals {
		return nil
	}
	return &n
}

func (n *need) count() int {
	if n.op == 'l' {
		return 1
	}
	c := 0
	for i := range n.kids {
		c += n.kids[i].count()
	}
	return c
}

// needOf returns what expression e requires of the message, or false if it
// requires nothing this prefilter can check. Weakening keeps it sound: an
// && may drop parts (fewer requirements), and a literal may be replaced by
// a substring of it.
func (m *jsonMatcher) needOf(e int) (need, bool) {
	x := &m.exprs[e]
	switch x.kind {
	case '&':
		var kids []need
		for _, k := range x.kids {
			if n, ok := m.needOf(k); ok {
				kids = append(kids, n)
			}
		}
		// Keep the cheapest and most selective parts: single long literals first.
		slices.SortStableFunc(kids, func(a, b need) int {
			if c := cmp.Compare(a.count(), b.count()); c != 0 {
				return c
			}
			return cmp.Compare(len(b.lit), len(a.lit))
		})
		total := 0
		for i := range kids {
			if total += kids[i].count(); total > maxNeedLiterals {
				kids = kids[:i]
				break
			}
		}
		switch len(kids) {
		case 0:
			return need{}, false
		case 1:
			return kids[0], true
		}
		return need{op: '&', kids: kids}, true
	case '|':
		var lits [][]byte
		var kids []need
		for _, k := range x.kids {
			n, ok := m.needOf(k)
			if !ok {
				return need{}, false
			}
			if n.op == 'l' {
				lits = append(lits, n.lit)
			} else {
				kids = append(kids, n)
			}
		}
		for _, l := range shareSubstrings(lits) {
			kids = append(kids, need{op: 'l', lit: l})
		}
		if len(kids) == 1 {
			return kids[0], true
		}
		return need{op: '|', kids: kids}, true
	}
	c := &m.conds[x.cond]
	switch c.op {
	case opIsTrue:
		return need{op: 'l', lit: []byte("true")}, true
	case opIsFalse:
		return need{op: 'l', lit: []byte("false")}, true
	case opIsNull:
		return need{op: 'l', lit: []byte("null")}, true
	case opEq:
		if c.lit.kind == litString && len(c.lit.glob.lit) > 0 && !numberLike(c.lit.glob.lit) {
			return need{op: 'l', lit: c.lit.glob.lit}, true
		}
	}
	return need{}, false
}

// shareSubstrings covers a set of alternative literals with few substrings:
// greedily, the substring (at least minShared bytes) of the first literal
// not yet covered that the most others contain. CIS 4.4's sixteen IAM event
// names all contain "Policy"; StartLogging and StopLogging share "Logging".
// The work is bounded; past the bound the literals stand for themselves.
func shareSubstrings(lits [][]byte) [][]byte {
	if len(lits) <= 1 {
		return lits
	}
	budget := 1 << 18 // bytes.Contains calls
	var out [][]byte
	left := slices.Clone(lits)
	for len(left) > 0 {
		first := left[0]
		best, bestN := first, 1
		for i := 0; i+minShared <= len(first); i++ {
			for j := i + minShared; j <= len(first); j++ {
				sub, n := first[i:j], 0
				for _, o := range left {
					if budget--; budget < 0 {
						return lits
					}
					if bytes.Contains(o, sub) {
						n++
					}
				}
				if n > bestN || n == bestN && len(sub) > len(best) {
					best, bestN = sub, n
				}
			}
		}
		out = append(out, best)
		left = slices.DeleteFunc(left, func(o []byte) bool { return bytes.Contains(o, best) })
	}
	return out
}

// numberLike reports whether s could be (part of) the canonical text of a
// number, which need not appear in the raw message (1e3 renders "1000.0").
func numberLike(s []byte) bool {
	for _, c := range s {
		if !isDigit(c) && bytes.IndexByte([]byte(".+-eEInfinity"), c) < 0 {
			return false
		}
	}
	return true
}

// unescape appends the JSON string content s (already validated) with its
// escapes decoded.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+1:]))
			i += 4
			if utf16IsHigh(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if lo := rune(hex4(s[i+3:])); utf16IsLow(lo) {
					r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
					i += 6
				}
			}
			if utf16IsHigh(r) || utf16IsLow(r) {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ /
			dst = append(dst, s[i])
		}
	}
	return dst
}

func utf16IsHigh(r rune) bool { return 0xD800 <= r && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return 0xDC00 <= r && r < 0xE000 }

func hex4(s []byte) int {
	n := 0
	for _, c := range s[:4] {
		n <<= 4
		switch {
		case isDigit(c):
			n |= int(c - '0')
		case 'a' <= c && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
}

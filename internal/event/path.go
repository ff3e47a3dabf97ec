package event

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A Path names a value inside a record by its member names, dotted as people write them:
// "eventName", "userIdentity.sessionContext.sessionIssuer.userName". A segment that is a
// number indexes an array: "resources.0.ARN".
type Path []string

// ParsePath parses a dotted path.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, errors.New("empty field path")
	}
	p := Path(strings.Split(s, "."))
	for _, seg := range p {
		if seg == "" {
			return nil, fmt.Errorf("field path %q has an empty segment", s)
		}
	}
	return p, nil
}

func (p Path) String() string { return strings.Join(p, ".") }

// Fields extracts the values at several paths from raw records in one pass over each record.
// It reads records as they are, without decoding them, and stops as soon as every path has
// been found, so that exporting a few columns costs a fraction of a parse. Where a member
// name repeats, the first occurrence counts. A Fields is safe for concurrent use.
type Fields struct {
	root  *pathNode
	paths int
}

type pathNode struct {
	name     string
	index    int   // name as an array index, or -1
	leaves   []int // paths that end here
	children []*pathNode
	total    int // leaves at or below this node
}

// NewFields compiles paths for Extract.
func NewFields(paths []Path) *Fields {
	root := &pathNode{index: -1}
	for i, p := range paths {
		n := root
		for _, seg := range p {
			var next *pathNode
			for _, c := range n.children {
				if c.name == seg {
					next = c
					break
				}
			}
			if next == nil {
				next = &pathNode{name: seg, index: -1}
				if k, err := strconv.Atoi(seg); err == nil && k >= 0 && strconv.Itoa(k) == seg {
					next.index = k
				}
				n.children = append(n.children, next)
			}
			n = next
		}
		n.leaves = append(n.leaves, i)
	}
	var count func(n *pathNode) int
	count = func(n *pathNode) int {
		n.total = len(n.leaves)
		for _, c := range n.children {
			n.total += count(c)
		}
		return n.total
	}
	count(root)
	return &Fields{root: root, paths: len(paths)}
}

// ErrMalformed is returned by Extract for input that is not a JSON object.
var ErrMalformed = errors.New("malformed JSON record")

// Extract sets out[i] to the JSON text of the value at path i in raw (aliasing raw), or nil
// where the record has no such value. out must have one element per path.
func (f *Fields) Extract(raw []byte, out [][]byte) error {
	clear(out[:f.paths])
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return ErrMalformed
	}
	_, err := extractObject(raw, i, f.root, out, true)
	return err
}

// extract walks the value at b[i] for node n and returns the index past it.
func extract(b []byte, i int, n *pathNode, out [][]byte) (int, error) {
	switch b[i] {
	case '{':
		return extractObject(b, i, n, out, false)
	case '[':
		return extractArray(b, i, n, out)
	}
	return skipValue(b, i)
}

// extractObject walks the object at b[i]. For the record itself (top) it stops as soon as
// every member a path goes through has been seen, returning -1.
func extractObject(b []byte, i int, n *pathNode, out [][]byte, top bool) (int, error) {
	var seen uint64 // top: children already met (first occurrence counts)
	resolved := 0
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrMalformed
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, ErrMalformed
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, ErrMalformed
		}
		ci, child := n.child(key)
		var end int
		if child == nil || (len(child.children) == 0 || b[i] != '{' && b[i] != '[') {
			end, err = skipValue(b, i)
		} else {
			end, err = extract(b, i, child, out)
		}
		if err != nil {
			return 0, err
		}
		if child != nil {
			for _, l := range child.leaves {
				if out[l] == nil {
					out[l] = b[i:end:end]
				}
			}
			if top && ci < 64 && seen&(1<<ci) == 0 {
				seen |= 1 << ci
				resolved += child.total
				if resolved == n.total {
					return -1, nil // every path is resolved: the rest need not be read
				}
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, ErrMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, ErrMalformed
		}
	}
}

func extractArray(b []byte, i int, n *pathNode, out [][]byte) (int, error) {
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for k := 0; ; k++ {
		if i >= len(b) {
			return 0, ErrMalformed
		}
		var child *pathNode
		for _, c := range n.children {
			if c.index == k {
				child = c
				break
			}
		}
		var end int
		var err error
		if child == nil {
			end, err = skipValue(b, i)
		} else {
			end, err = extract(b, i, child, out)
			if err == nil {
				for _, l := range child.leaves {
					if out[l] == nil {
						out[l] = b[i:end:end]
					}
				}
			}
		}
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, ErrMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, ErrMalformed
		}
	}
}

// child returns n's child for a raw (still escaped) member name, and its position.
func (n *pathNode) child(key []byte) (int, *pathNode) {
	if bytes.IndexByte(key, '\\') >= 0 {
		name := unquote(key)
		for i, c := range n.children {
			if c.name == name {
				return i, c
			}
		}
		return -1, nil
	}
	for i, c := range n.children {
		if string(key) == c.name { // compiled without a copy
			return i, c
		}
	}
	return -1, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index past the string starting at b[i] ('"').
func skipString(b []byte, i int) (int, error) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, ErrMalformed
		}
		i += q
		// The quote is escaped if an odd number of backslashes precede it.
		bs := 0
		for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
			bs++
		}
		i++
		if bs%2 == 0 {
			return i, nil
		}
	}
}

// skipValue returns the index past the value starting at b[i]. It checks structure only as
// far as it must to find the end; Parse validated recorded records in full.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, ErrMalformed
	}
	switch c := b[i]; c {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, ErrMalformed
	default:
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\n', '\t', '\r':
				if i == start {
					return 0, ErrMalformed
				}
				return i, nil
			}
			i++
		}
		if i == start {
			return 0, ErrMalformed
		}
		return i, nil
	}
}

// AppendText appends the text of the JSON value v as people read it in a table: a string's
// contents with escapes decoded, nothing for null or an absent value (nil), and the JSON
// itself for numbers, booleans, objects and arrays.
func AppendText(dst, v []byte) []byte {
	if len(v) == 0 {
		return dst
	}
	switch v[0] {
	case '"':
		if len(v) < 2 {
			return dst
		}
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') < 0 {
			return append(dst, s...)
		}
		return append(dst, unquote(s)...)
	case 'n':
		if string(v) == "null" {
			return dst
		}
	}
	return append(dst, v...)
}

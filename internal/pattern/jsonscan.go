package pattern

import (
	"encoding/binary"
	"math/bits"
)

// The validating JSON scanner: strict RFC 8259 syntax (what Jackson accepts
// by default), no allocation. Strings are searched eight bytes at a time.

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// special returns a word with the high bit set in each byte of w that is
// '"', '\\' or a control character; the lowest set bit is exact.
func special(w uint64) uint64 {
	q := w ^ (swarOnes * '"')
	s := w ^ (swarOnes * '\\')
	return ((q-swarOnes)&^q | (s-swarOnes)&^s | (w-swarOnes*0x20)&^w) & swarHighs
}

// scanString validates the string whose content starts at b[i] (after the
// opening quote) and returns the index of the closing quote and whether the
// content has escapes.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	for {
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
				goto found
			}
		}
		return 0, false, false
	found:
		switch b[i] {
		case '"':
			return i, esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		default: // control character
			return 0, false, false
		}
	}
}

// scanNumber validates a JSON number starting at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, false
	}
	switch {
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		s := i
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
		if i == s {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
		if i == s {
			return 0, false
		}
	}
	return i, true
}

// scanLiteral validates true, false or null at b[i].
func scanLiteral(b []byte, i int) (int, byte, bool) {
	r := b[i:]
	switch {
	case len(r) >= 4 && string(r[:4]) == "true":
		return i + 4, kTrue, true
	case len(r) >= 5 && string(r[:5]) == "false":
		return i + 5, kFalse, true
	case len(r) >= 4 && string(r[:4]) == "null":
		return i + 4, kNull, true
	}
	return 0, 0, false
}

// skipValue validates and skips the value at b[i], nested inside depth
// containers.
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i+1)
		return end + 1, ok
	case c == '{' || c == '[':
		return skipContainer(b, i, depth)
	case c == 't' || c == 'f' || c == 'n':
		end, _, ok := scanLiteral(b, i)
		return end, ok
	}
	return scanNumber(b, i)
}

// skipContainer validates and skips the object or array at b[i] without
// recursion.
func skipContainer(b []byte, i, depth int) (int, bool) {
	var stack [maxDepth/64 + 1]uint64 // bit set: object; clear: array
	n := 0                            // containers opened here
	var ok bool
value:
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		if i, _, ok = scanString(b, i+1); !ok {
			return 0, false
		}
		i++
	case c == '{':
		if depth+n >= maxDepth {
			return 0, false
		}
		stack[n>>6] |= 1 << (n & 63)
		n++
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i < len(b) && b[i] == '}' {
			i++
			n--
			goto after
		}
		goto key
	case c == '[':
		if depth+n >= maxDepth {
			return 0, false
		}
		stack[n>>6] &^= 1 << (n & 63)
		n++
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i < len(b) && b[i] == ']' {
			i++
			n--
			goto after
		}
		goto value
	case c == 't' || c == 'f' || c == 'n':
		if i, _, ok = scanLiteral(b, i); !ok {
			return 0, false
		}
	default:
		if i, ok = scanNumber(b, i); !ok {
			return 0, false
		}
	}
after:
	if n == 0 {
		return i, true
	}
	if i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= len(b) {
		return 0, false
	}
	if b[i] == ',' {
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if stack[(n-1)>>6]&(1<<((n-1)&63)) != 0 {
			goto key
		}
		goto value
	}
	if stack[(n-1)>>6]&(1<<((n-1)&63)) != 0 {
		if b[i] != '}' {
			return 0, false
		}
	} else if b[i] != ']' {
		return 0, false
	}
	i++
	n--
	goto after
key:
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	if i, _, ok = scanString(b, i+1); !ok {
		return 0, false
	}
	if i++; i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	if i++; i < len(b) && b[i] <= ' ' {
		i = skipWS(b, i)
	}
	goto value
}

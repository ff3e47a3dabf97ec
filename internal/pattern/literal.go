package pattern

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
)

// litKind says what a comparison's right-hand side is.
type litKind uint8

const (
	litString litKind = iota // quoted or bare word, with optional leading/trailing '*'
	litNumber                // bare number: 1, -2.5, +1000, 1e-3
	litAny                   // * or "*": any string or number
	litRegex                 // %regex%
)

// literal is the value side of a condition, compiled once.
type literal struct {
	kind litKind
	text string  // the string (unquoted) or the number as written
	glob glob    // litString
	num  decimal // litNumber
	re   *regexp.Regexp
}

// glob is a string with an optional '*' wildcard at its start and/or end;
// a '*' anywhere else is an ordinary character, as in CloudWatch Logs.
type glob struct {
	lit          []byte
	lead, trail  bool // '*' before / after lit
	matchesEmpty bool // the whole glob was stars
}

func newGlob(s string) glob {
	if s != "" && isAllStars(s) {
		return glob{matchesEmpty: true, lead: true}
	}
	var g glob
	for len(s) > 0 && s[0] == '*' {
		g.lead, s = true, s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == '*' {
		g.trail, s = true, s[:len(s)-1]
	}
	g.lit = []byte(s)
	return g
}

func isAllStars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '*' {
			return false
		}
	}
	return true
}

func (g *glob) match(v []byte) bool {
	switch {
	case g.matchesEmpty:
		return true
	case g.lead && g.trail:
		return bytes.Contains(v, g.lit)
	case g.lead:
		return bytes.HasSuffix(v, g.lit)
	case g.trail:
		return bytes.HasPrefix(v, g.lit)
	}
	return bytes.Equal(v, g.lit)
}

// decimal is an exact decimal number 0.d₁d₂…dₙ × 10^exp. digits has no
// leading or trailing zeros; zero has no digits (and no sign).
type decimal struct {
	neg    bool
	digits []byte
	exp    int
}

// parseDecimal reads [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? exactly. It fails on
// anything else and on exponents beyond ±1e9 (AWS rejects 1e2147483648).
func parseDecimal(s []byte) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	var frac []byte
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fs:i]
	}
	if len(intPart) == 0 && len(frac) == 0 {
		return decimal{}, false
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			if e = e*10 + int(s[i]-'0'); e > 1e9 {
				return decimal{}, false
			}
			i++
		}
		if i == es {
			return decimal{}, false
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return decimal{}, false
	}
	// Normalise without copying when the fraction is empty (integers, the
	// common case in events); otherwise join the parts.
	var digits []byte
	pointAt := len(intPart) // digits before the decimal point
	if len(frac) == 0 {
		digits = intPart
	} else {
		digits = make([]byte, 0, len(intPart)+len(frac))
		digits = append(append(digits, intPart...), frac...)
	}
	for len(digits) > 0 && digits[0] == '0' {
		digits = digits[1:]
		pointAt--
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return decimal{}, true
	}
	d.digits = digits
	d.exp = pointAt + e
	return d, true
}

// isNumberText reports whether s has parseDecimal's grammar.
func isNumberText(s []byte) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	n := 0
	for i < len(s) && isDigit(s[i]) {
		i, n = i+1, n+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i, n = i+1, n+1
		}
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == len(s)
}

// cmpDecimal returns -1, 0 or +1 as a is less than, equal to or greater than b.
func cmpDecimal(a, b decimal) int {
	az, bz := len(a.digits) == 0, len(b.digits) == 0
	switch {
	case az && bz:
		return 0
	case az:
		if b.neg {
			return 1
		}
		return -1
	case bz:
		if a.neg {
			return -1
		}
		return 1
	case a.neg != b.neg:
		if a.neg {
			return -1
		}
		return 1
	}
	c := 0
	if a.exp != b.exp {
		c = -1
		if a.exp > b.exp {
			c = 1
		}
	} else {
		c = bytes.Compare(a.digits, b.digits)
	}
	if a.neg {
		return -c
	}
	return c
}

// isIntegerText reports whether s is [+-]?digits: such numbers compare
// exactly, as AWS does for JSON integers of any length.
func isIntegerText(s []byte) bool {
	i := 0
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		i = 1
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// eventNumber reads a number found in a log event (a JSON number or a
// space-delimited token). Integers are exact; anything else goes through a
// float64, as AWS does: 1e-999 becomes 0 and 1e309 is not a number at all.
// buf holds the digits of a float conversion.
func eventNumber(s []byte, buf *[32]byte) (decimal, bool) {
	if isIntegerText(s) {
		return parseDecimal(s)
	}
	if !isNumberText(s) { // never NaN, Infinity, hex or other ParseFloat extras
		return decimal{}, false
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil && !isRangeErr(err) || math.IsInf(f, 0) {
		return decimal{}, false
	}
	return floatDecimal(f, buf), true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// floatDecimal converts a finite float64 to its shortest exact decimal.
func floatDecimal(f float64, buf *[32]byte) decimal {
	if f == 0 {
		return decimal{}
	}
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // -d.ddde±dd
	var d decimal
	if b[0] == '-' {
		d.neg, b = true, b[1:]
	}
	e := bytes.IndexByte(b, 'e')
	exp, _ := strconv.Atoi(string(b[e+1:]))
	mant := b[:e]
	// Drop the point: "d.ddd" → "dddd" in place (the point is at index 1).
	if len(mant) > 1 {
		copy(mant[1:], mant[2:])
		mant = mant[:len(mant)-1]
	}
	for len(mant) > 0 && mant[len(mant)-1] == '0' {
		mant = mant[:len(mant)-1]
	}
	d.digits = mant
	d.exp = exp + 1
	return d
}

// appendCanonical appends the text AWS compares strings, wildcards and
// regular expressions against when the event holds a JSON number: integers
// as written (without a sign on zero), anything else as Java's
// Double.toString renders the double ("1.0", "1000.0", "1.0E-5", "Infinity").
// Live AWS: { $.a = "1" } matches 1 but not 1.0; { $.a = "1e0" } does not
// match 1e0; { $.a = %1% } does not match 1e-999 (which is "0.0").
func appendCanonical(dst, num []byte) []byte {
	if isIntegerText(num) {
		if num[0] == '-' && isZeroDigits(num[1:]) {
			return append(dst, '0')
		}
		return append(dst, num...)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil && !isRangeErr(err) {
		return append(dst, num...)
	}
	return appendJavaDouble(dst, f)
}

func isZeroDigits(s []byte) bool {
	for _, c := range s {
		if c != '0' {
			return false
		}
	}
	return true
}

// appendJavaDouble renders f as java.lang.Double.toString does (JDK 19+,
// shortest digits): plain notation with at least one fractional digit when
// 1e-3 ≤ |f| < 1e7, otherwise d.dddE±n.
func appendJavaDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	d := floatDecimal(f, &buf)
	if d.neg {
		dst = append(dst, '-')
	}
	digits, point := d.digits, d.exp // value = 0.digits × 10^point
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		switch {
		case point <= 0:
			dst = append(dst, '0', '.')
			for i := 0; i < -point; i++ {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		case point >= len(digits):
			dst = append(dst, digits...)
			for i := len(digits); i < point; i++ {
				dst = append(dst, '0')
			}
			return append(dst, '.', '0')
		default:
			dst = append(dst, digits[:point]...)
			dst = append(dst, '.')
			return append(dst, digits[point:]...)
		}
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(point-1), 10)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

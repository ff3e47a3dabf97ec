package gen

import (
	"strconv"
	"time"
)

// jw appends JSON to a byte slice. Commas are inserted from the last byte
// written, so callers only say what comes next. It never allocates beyond
// growing b, which keeps Event fast.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// str writes "k":"v", escaping v.
func (w *jw) str(k, v string) {
	w.key(k)
	w.b = appendQuoted(w.b, v)
}

// strs writes "k":"<parts…>" for parts known to need no escaping (generated
// identifiers, or values escaped once in advance).
func (w *jw) strs(k string, parts ...string) {
	w.key(k)
	w.b = append(w.b, '"')
	for _, p := range parts {
		w.b = append(w.b, p...)
	}
	w.b = append(w.b, '"')
}

func (w *jw) raw(k, v string) {
	w.key(k)
	w.b = append(w.b, v...)
}

func (w *jw) boolean(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jw) float(k string, v float64) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}

// time writes a CloudTrail timestamp, "2006-01-02T15:04:05Z".
func (w *jw) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendTime(w.b, t)
	w.b = append(w.b, '"')
}

// appendTime is t.UTC().AppendFormat(b, "2006-01-02T15:04:05Z") without
// the layout interpretation, which dominated Event's profile.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05Z")
	}
	h, mi, s := t.Clock()
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), 'Z')
}

// strBytes is strs for one []byte part.
func (w *jw) strBytes(k string, v []byte) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
}

// awsDate writes the "Jan 2, 2006, 3:04:05 PM" form that IAM, STS, KMS and
// DynamoDB responses carry inside CloudTrail records.
func (w *jw) awsDate(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, "Jan 2, 2006, 3:04:05 PM")
	w.b = append(w.b, '"')
}

func (w *jw) obj(k string) { w.key(k); w.b = append(w.b, '{') }
func (w *jw) arr(k string) { w.key(k); w.b = append(w.b, '[') }
func (w *jw) end()         { w.b = append(w.b, '}') }
func (w *jw) endArr()      { w.b = append(w.b, ']') }

// elem starts an object element of an array.
func (w *jw) elem() { w.sep(); w.b = append(w.b, '{') }

// elemStr writes a string element of an array.
func (w *jw) elemStr(v string) { w.sep(); w.b = appendQuoted(w.b, v) }

// empty writes "k":{}.
func (w *jw) empty(k string) { w.raw(k, "{}") }

const hexDigits = "0123456789abcdef"

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// esc returns s escaped for use between quotes (s itself when clean).
func esc(s string) string {
	q := appendQuoted(nil, s)
	return string(q[1 : len(q)-1])
}

package lake

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// colType is a DuckDB column type, parsed from its name ("STRUCT(\"a\" INTEGER, \"b\" VARCHAR[])")
// so values can be rendered by it: struct fields in declared order, timestamps by precision.
type colType struct {
	name   string // base type, upper case: VARCHAR, TIMESTAMP, STRUCT, MAP, LIST…
	fields []string
	elems  []*colType // STRUCT: one per field; MAP: key, value; LIST: element
}

// parseType parses a DuckDB type name. Unknown syntax gives a scalar of that name: rendering
// then falls back to the value's Go type.
func parseType(s string) *colType {
	p := typeParser{s: s}
	t := p.parse()
	if t == nil {
		return &colType{name: strings.ToUpper(s)}
	}
	return t
}

type typeParser struct {
	s   string
	pos int
}

func (p *typeParser) ws() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// ident reads a name: quoted, or a word; with words, several words separated by single spaces
// (TIMESTAMP WITH TIME ZONE).
func (p *typeParser) ident(words bool) string {
	p.ws()
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		var b strings.Builder
		for p.pos++; p.pos < len(p.s); p.pos++ {
			if p.s[p.pos] == '"' {
				if p.pos+1 < len(p.s) && p.s[p.pos+1] == '"' {
					b.WriteByte('"')
					p.pos++
					continue
				}
				p.pos++
				return b.String()
			}
			b.WriteByte(p.s[p.pos])
		}
		return b.String()
	}
	start := p.pos
	for p.pos < len(p.s) {
		if isWord(p.s[p.pos]) {
			p.pos++
			continue
		}
		if words && p.s[p.pos] == ' ' && p.pos+1 < len(p.s) && isWord(p.s[p.pos+1]) && p.pos > start {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func isWord(c byte) bool { return c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' }

func (p *typeParser) eat(c byte) bool {
	p.ws()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *typeParser) parse() *colType {
	name := strings.ToUpper(p.ident(true))
	if name == "" {
		return nil
	}
	t := &colType{name: name}
	switch name {
	case "STRUCT", "UNION":
		if !p.eat('(') {
			return nil
		}
		for {
			f := p.ident(false)
			// A field name is followed by its type.
			e := p.parse()
			if e == nil {
				return nil
			}
			t.fields = append(t.fields, f)
			t.elems = append(t.elems, e)
			if p.eat(')') {
				break
			}
			if !p.eat(',') {
				return nil
			}
		}
	case "MAP":
		if !p.eat('(') {
			return nil
		}
		k := p.parse()
		if k == nil || !p.eat(',') {
			return nil
		}
		v := p.parse()
		if v == nil || !p.eat(')') {
			return nil
		}
		t.elems = []*colType{k, v}
	default:
		if p.eat('(') { // DECIMAL(18,3), VARCHAR(10)
			for p.pos < len(p.s) && p.s[p.pos] != ')' {
				p.pos++
			}
			p.eat(')')
		}
	}
	for p.eat('[') {
		for p.pos < len(p.s) && p.s[p.pos] != ']' {
			p.pos++
		}
		p.eat(']')
		t = &colType{name: "LIST", elems: []*colType{t}}
	}
	return t
}

// formatValue renders a value as CloudTrail Lake returns it: a string, Trino's rendering of
// the value (maps {k=v, …}, rows {field=value, …}, arrays [a, b], timestamps to the
// millisecond). NULL is "" at the top level and "null" inside a nested value.
func formatValue(v any, t *colType) string {
	if v == nil {
		return ""
	}
	var b strings.Builder
	appendValue(&b, v, t)
	return b.String()
}

func appendValue(b *strings.Builder, v any, t *colType) {
	elem := func(i int) *colType {
		if t != nil && i < len(t.elems) {
			return t.elems[i]
		}
		return nil
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		fmt.Fprint(b, x)
	case float32:
		b.WriteString(formatDouble(float64(x)))
	case float64:
		b.WriteString(formatDouble(x))
	case *big.Int:
		b.WriteString(x.String())
	case duckdb.Decimal:
		b.WriteString(formatDecimal(x))
	case time.Time:
		b.WriteString(formatTimeValue(x, t))
	case duckdb.Interval:
		d := time.Duration(x.Micros) * time.Microsecond
		if x.Months != 0 {
			fmt.Fprintf(b, "%d-%d ", x.Months/12, x.Months%12)
		}
		fmt.Fprintf(b, "%d %02d:%02d:%02d.%03d", x.Days, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, d.Milliseconds()%1000)
	case []byte:
		if t != nil && t.name == "UUID" && len(x) == 16 {
			h := hex.EncodeToString(x)
			b.WriteString(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
		} else {
			b.WriteString(hex.EncodeToString(x))
		}
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			appendValue(b, e, elem(0))
		}
		b.WriteByte(']')
	case duckdb.OrderedMap:
		b.WriteByte('{')
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			appendValue(b, k, elem(0))
			b.WriteByte('=')
			appendValue(b, x.Values()[i], elem(1))
		}
		b.WriteByte('}')
	case duckdb.Map:
		b.WriteByte('{')
		i := 0
		for k, val := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			appendValue(b, k, elem(0))
			b.WriteByte('=')
			appendValue(b, val, elem(1))
			i++
		}
		b.WriteByte('}')
	case map[string]any:
		b.WriteByte('{')
		if t != nil && t.name == "STRUCT" && len(t.fields) == len(x) {
			for i, f := range t.fields {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(f)
				b.WriteByte('=')
				appendValue(b, x[f], t.elems[i])
			}
		} else {
			i := 0
			for k, val := range x {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(k + "=")
				appendValue(b, val, nil)
				i++
			}
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}

func formatTimeValue(x time.Time, t *colType) string {
	name := ""
	if t != nil {
		name = t.name
	}
	switch name {
	case "DATE":
		return x.Format("2006-01-02")
	case "TIME", "TIME_NS":
		return x.Format("15:04:05.000")
	case "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE":
		return x.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
	}
	return x.UTC().Format("2006-01-02 15:04:05.000")
}

// formatDouble renders a double as Java (and so Trino) does: 1.0, 0.25, 1.2345E7.
func formatDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	a := math.Abs(f)
	if a == 0 || a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	s := new(big.Int).Abs(d.Value).String()
	scale := int(d.Scale)
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if d.Value.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// textType is t with every JSON replaced by VARCHAR, or "" if t has no JSON: DuckDB hands JSON to
// Go decoded (losing key order and quoting), so results cast it to its text first.
func textType(typeName string) string {
	if !strings.Contains(strings.ToUpper(typeName), "JSON") {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(typeName); {
		if i+4 <= len(typeName) && strings.EqualFold(typeName[i:i+4], "JSON") &&
			(i == 0 || !isWord(typeName[i-1])) && (i+4 == len(typeName) || !isWord(typeName[i+4])) {
			b.WriteString("VARCHAR")
			i += 4
			continue
		}
		if typeName[i] == '"' { // a quoted field name: copy as is
			j := i + 1
			for j < len(typeName) && typeName[j] != '"' {
				j++
			}
			b.WriteString(typeName[i:min(j+1, len(typeName))])
			i = j + 1
			continue
		}
		b.WriteByte(typeName[i])
		i++
	}
	if b.String() == typeName {
		return ""
	}
	return b.String()
}

package exporter

import (
	"bufio"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

// table writes TSV or CSV. Values are written as people read them in a table (see
// event.AppendText): a string's contents, nothing for null or absent, the JSON of objects.
// TSV escapes tab, line breaks and backslash as jq's @tsv does (\t, \n, \r, \\); CSV quotes
// as RFC 4180 says.
type table struct {
	w    *bufio.Writer
	cols *columns
	csv  bool
	line []byte
	cell []byte
}

func newTable(w *bufio.Writer, opts Options) (*table, error) {
	names := opts.Fields
	if len(names) == 0 {
		names = DefaultFields
	}
	cols, err := newColumns(names)
	if err != nil {
		return nil, err
	}
	t := &table{w: w, cols: cols, csv: opts.Format == CSV}
	if opts.Header {
		cells := make([][]byte, len(names))
		for i, n := range names {
			cells[i] = []byte(`"` + strings.ReplaceAll(n, `"`, `\"`) + `"`)
		}
		if err := t.row(cells); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *table) write(raw []byte, _ *event.Summary, _ time.Time) error {
	vals, err := t.cols.values(raw)
	if err != nil {
		return nil // recorded records are valid JSON; nothing to show otherwise
	}
	return t.row(vals)
}

func (t *table) row(vals [][]byte) error {
	b := t.line[:0]
	for i, v := range vals {
		if i > 0 {
			if t.csv {
				b = append(b, ',')
			} else {
				b = append(b, '\t')
			}
		}
		if t.csv {
			b = t.appendCSV(b, v)
		} else {
			b = appendTSV(b, v)
		}
	}
	b = append(b, '\n')
	t.line = b
	_, err := t.w.Write(b)
	return err
}

// appendTSV appends v's text, escaped as jq's @tsv escapes.
func appendTSV(dst, v []byte) []byte {
	// Plain strings, the usual case, need neither decoding nor escaping.
	if len(v) >= 2 && v[0] == '"' {
		plain := true
		for _, c := range v[1 : len(v)-1] {
			if c == '\\' || c == '\t' {
				plain = false
				break
			}
		}
		if plain {
			return append(dst, v[1:len(v)-1]...)
		}
	}
	start := len(dst)
	dst = event.AppendText(dst, v)
	n := 0
	for _, c := range dst[start:] {
		switch c {
		case '\t', '\n', '\r', '\\':
			n++
		}
	}
	if n == 0 {
		return dst
	}
	text := append([]byte(nil), dst[start:]...)
	dst = dst[:start]
	for _, c := range text {
		switch c {
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\\':
			dst = append(dst, '\\', '\\')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendCSV appends v's text as a CSV field, quoted when it must be.
func (t *table) appendCSV(dst, v []byte) []byte {
	t.cell = event.AppendText(t.cell[:0], v)
	quote := false
	for _, c := range t.cell {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if len(t.cell) > 0 && (t.cell[0] == ' ' || t.cell[0] == '\t') {
		quote = true
	}
	if !quote {
		return append(dst, t.cell...)
	}
	dst = append(dst, '"')
	for _, c := range t.cell {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

func (t *table) close() error { return nil }

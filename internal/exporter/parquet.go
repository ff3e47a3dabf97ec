package exporter

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/cairn-dev/cairn/internal/event"
)

// parquetFile writes one row per event: each column a UTF-8 string (the value's text, as in
// TSV; JSON for objects), null where the record has no value, except eventTime, a UTC
// timestamp. Columns are named by their paths.
type parquetFile struct {
	w     *parquet.Writer
	cols  *columns
	order []int // the schema's column index of each field (parquet sorts them by name)
	times []bool
	row   parquet.Row
	text  [][]byte
}

// parquetRowGroup bounds memory: rows are buffered until a row group is written.
const parquetRowGroup = 64 << 10

func newParquet(w io.Writer, opts Options) (*parquetFile, error) {
	names := opts.Fields
	if len(names) == 0 {
		names = ParquetFields
	}
	if i := duplicate(names); i >= 0 {
		return nil, fmt.Errorf("column %q is named twice", names[i])
	}
	cols, err := newColumns(names)
	if err != nil {
		return nil, err
	}
	group := parquet.Group{}
	p := &parquetFile{cols: cols, order: make([]int, len(names)), times: make([]bool, len(names)), text: make([][]byte, len(names))}
	for i, n := range names {
		if n == "eventTime" {
			group[n] = parquet.Optional(parquet.Timestamp(parquet.Millisecond))
			p.times[i] = true
		} else {
			group[n] = parquet.Optional(parquet.String())
		}
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for i, n := range names {
		p.order[i], _ = slices.BinarySearch(sorted, n)
	}
	schema := parquet.NewSchema("cloudtrail", group)
	p.w = parquet.NewWriter(w, schema, parquet.Compression(&zstd.Codec{}), parquet.MaxRowsPerRowGroup(parquetRowGroup))
	p.row = make(parquet.Row, len(names))
	return p, nil
}

func duplicate(names []string) int {
	for i, n := range names {
		if slices.Index(names[:i], n) >= 0 {
			return i
		}
	}
	return -1
}

func (p *parquetFile) write(raw []byte, _ *event.Summary, _ time.Time) error {
	vals, err := p.cols.values(raw)
	if err != nil {
		return nil
	}
	for i, v := range vals {
		col := p.order[i]
		switch {
		case v == nil || string(v) == "null":
			p.row[col] = parquet.NullValue().Level(0, 0, col)
		case p.times[i]:
			t, err := event.ParseTime(string(event.AppendText(p.text[i][:0], v)))
			if err != nil {
				p.row[col] = parquet.NullValue().Level(0, 0, col)
				continue
			}
			p.row[col] = parquet.Int64Value(t.UnixMilli()).Level(0, 1, col)
		default:
			p.text[i] = event.AppendText(p.text[i][:0], v)
			p.row[col] = parquet.ByteArrayValue(p.text[i]).Level(0, 1, col)
		}
	}
	_, err = p.w.WriteRows([]parquet.Row{p.row})
	return err
}

func (p *parquetFile) close() error { return p.w.Close() }

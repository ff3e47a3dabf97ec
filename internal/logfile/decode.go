package logfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// MaxRecordSize bounds Decode's memory: no single record (nor any other
// top-level value it must hold while deciding what it is) may be larger.
// CloudTrail's own limit is 256 KB per event.
const MaxRecordSize = 16 << 20

// maxDepth bounds nesting inside a record, as encoding/json does.
const maxDepth = 10000

// DecodeError reports why a file is not a readable CloudTrail log file and
// where: Offset counts bytes of the (decompressed) stream, Record is the
// index of the record being read, which is also how many records were
// delivered before the error.
type DecodeError struct {
	Offset int64
	Record int
	Reason string
	Err    error // underlying read or gzip error, if any
}

func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("logfile: record %d, byte %d: %s", e.Record, e.Offset, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decode reads a log file from r and calls fn with each record's original
// bytes, in order, without re-serialising anything. It accepts
//
//   - gzip (one member or several concatenated) or uncompressed input;
//   - {"Records":[…]} (other top-level keys are ignored), a JSON array of
//     records, or records one after another (NDJSON; blank lines are fine),
//     and any sequence of these, as concatenating gzip files produces.
//
// Memory is bounded by MaxRecordSize whatever the file size. Decode is made
// for files and request bodies: it may read ahead of a record before
// delivering it, so it does not suit interactive streams. raw aliases an
// internal buffer and is valid only until fn returns: copy it to keep it.
// fn's error stops decoding and is returned as is. A malformed file yields a
// *DecodeError; the records before the fault have already been delivered.
func Decode(r io.Reader, fn func(raw []byte) error) error {
	var dec Decoder
	return dec.Decode(r, fn)
}

// A Decoder is Decode with buffers and gzip state kept from one file to the
// next: CloudTrail trees hold many small files (one per account, region and
// five minutes), and allocating half a megabyte for each would cost more
// than decoding it. The zero value is ready to use; it is not safe for
// concurrent use.
type Decoder struct {
	br    *bufio.Reader
	zr    *gzip.Reader
	buf   []byte
	stack []byte
}

// keepBuffer is the largest buffer a Decoder keeps between files; one grown
// for a larger record is dropped afterwards.
const keepBuffer = 1 << 20

// Decode decodes one file as the package-level Decode does.
func (dec *Decoder) Decode(r io.Reader, fn func(raw []byte) error) error {
	if dec.br == nil {
		dec.br = bufio.NewReaderSize(r, 64<<10)
	} else {
		dec.br.Reset(r)
	}
	if len(dec.buf) == 0 || len(dec.buf) > keepBuffer {
		dec.buf = make([]byte, 256<<10)
	}
	d := &decoder{fn: fn, buf: dec.buf, stack: dec.stack[:0], shortAt: -1}
	defer func() {
		dec.buf, dec.stack = d.buf, d.stack
		dec.br.Reset(nil) // do not keep the caller's reader
	}()
	magic, _ := dec.br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		d.gz = true
		var err error
		if dec.zr == nil {
			dec.zr, err = gzip.NewReader(dec.br)
		} else {
			err = dec.zr.Reset(dec.br)
		}
		if err != nil {
			dec.zr = nil // a failed Reset leaves the reader unusable
			return d.readError(err)
		}
		d.r = dec.zr
	} else {
		d.r = dec.br
	}
	return d.run()
}

// errShort means the value being scanned runs past the buffered data;
// errStop that fn returned an error (kept in decoder.fnErr), so that even
// io.EOF from fn is passed back rather than taken for the end of input.
var (
	errShort = errors.New("short buffer")
	errStop  = errors.New("stopped by callback")
)

// syntaxError is a fault at buffer position pos.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

type state int

const (
	stTop      state = iota // between top-level values
	stArrFirst              // just after '[': a record or ']'
	stArrElem               // just after ',' in an array: a record
	stArrNext               // after a record: ',' or ']'
	stWrapNext              // in {"Records":…} after a value: ',' or '}'
	stWrapKey               // in {"Records":…} after ',': a key and its value
)

type decoder struct {
	r       io.Reader
	gz      bool
	fn      func([]byte) error
	buf     []byte // buf[:end] holds data; buf[pos:end] is not yet consumed
	pos     int
	end     int
	base    int64 // stream offset of buf[0]
	eof     bool  // r is exhausted; buf[:end] is all there is
	rerr    error // read error to report once the buffered data is used up
	records int
	shortAt int64 // stream offset of the value that last came up short
	state   state
	wrapper bool // the current array is the Records of a {"Records":…} object
	stack   []byte
	fnErr   error
}

func (d *decoder) run() error {
	for {
		err := d.step()
		if err == nil {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err == errStop {
			return d.fnErr
		}
		if err == errShort {
			if d.eof {
				return d.errAt(d.end, d.truncated())
			}
			if err := d.fill(); err != nil {
				return err
			}
			continue
		}
		var se *syntaxError
		if errors.As(err, &se) {
			return d.errAt(se.pos, se.msg)
		}
		return err // an already-formed *DecodeError
	}
}

func (d *decoder) truncated() string {
	switch d.state {
	case stTop:
		return "unexpected end of data inside a top-level value (truncated file?)"
	case stWrapNext, stWrapKey:
		return `unexpected end of data inside the {"Records":…} object (truncated file?)`
	}
	return "unexpected end of data inside a record or the records array (truncated file?)"
}

func (d *decoder) errAt(pos int, reason string) *DecodeError {
	if d.gz {
		reason += " (offset in the decompressed data)"
	}
	return &DecodeError{Offset: d.base + int64(pos), Record: d.records, Reason: reason}
}

// fill keeps buf[pos:end], makes room and reads more. It returns a
// *DecodeError when the input fails or when the value being held would
// exceed MaxRecordSize.
//
// A value that runs past the buffer is scanned again from its start once
// more data is in, so when the same value comes up short again fill reads
// at least as much as it already holds: rescans then cost O(n) in total
// however small the reader's chunks are.
func (d *decoder) fill() error {
	if d.rerr != nil {
		err := d.rerr
		d.rerr = nil
		return d.readError(err)
	}
	need := 1
	if start := d.base + int64(d.pos); start == d.shortAt {
		need = d.end - d.pos
	} else {
		d.shortAt = start
	}
	if d.pos > 0 {
		n := copy(d.buf, d.buf[d.pos:d.end])
		d.base += int64(d.pos)
		d.end, d.pos = n, 0
	}
	if d.end+need > len(d.buf) {
		if d.end >= MaxRecordSize {
			return d.errAt(0, fmt.Sprintf("a value is larger than %d bytes (MaxRecordSize): unterminated or not CloudTrail JSON", MaxRecordSize))
		}
		nb := make([]byte, min(max(2*len(d.buf), d.end+need), MaxRecordSize+1))
		copy(nb, d.buf[:d.end])
		d.buf = nb
		need = min(need, len(d.buf)-d.end)
	}
	for got := 0; got < need; {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		got += n
		if err == io.EOF {
			d.eof = true
			return nil
		}
		if err != nil {
			if got > 0 {
				d.rerr = err // deliver what arrived first
				return nil
			}
			return d.readError(err)
		}
	}
	return nil
}

func (d *decoder) readError(err error) error {
	var reason string
	var corrupt flate.CorruptInputError
	switch {
	case !d.gz:
		reason = "read failed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		reason = "truncated gzip stream"
	case errors.Is(err, gzip.ErrChecksum):
		reason = "gzip checksum mismatch (corrupt file)"
	case errors.Is(err, gzip.ErrHeader):
		reason = "invalid gzip header (trailing data after the last gzip member?)"
	case errors.As(err, &corrupt):
		reason = "corrupt gzip data"
	default:
		reason = "reading gzip stream failed"
	}
	e := d.errAt(d.end, reason)
	e.Err = err
	return e
}

// step performs one state transition starting at pos. It advances pos only
// past what it has fully consumed, so after errShort it can simply be run
// again once fill has read more.
func (d *decoder) step() error {
	b := d.buf[:d.end]
	i := skipWS(b, d.pos)
	d.pos = i // whitespace need not be kept
	if i >= len(b) {
		if d.state == stTop && d.eof {
			return io.EOF
		}
		return errShort
	}
	c := b[i]
	switch d.state {
	case stTop:
		if d.base+int64(i) == 0 && c == 0xEF { // UTF-8 byte order mark
			if len(b) < 3 {
				return errShort
			}
			if b[1] == 0xBB && b[2] == 0xBF {
				d.pos = 3
				return nil
			}
		}
		switch c {
		case '[':
			d.pos, d.state, d.wrapper = i+1, stArrFirst, false
			return nil
		case '{':
			end, records, err := d.classify(b, i)
			if err != nil {
				return err
			}
			if records {
				d.pos, d.state, d.wrapper = end, stArrFirst, true
				return nil
			}
			if err := d.deliver(b[i:end]); err != nil {
				return err
			}
			d.pos = end
			return nil
		}
		return &syntaxError{i, "not CloudTrail JSON: expected {\"Records\":[…]}, an array of records or a record, found " + quoteByte(c)}
	case stArrFirst, stArrElem:
		if c == ']' && d.state == stArrFirst {
			d.pos = i + 1
			d.endArray()
			return nil
		}
		if c != '{' {
			return &syntaxError{i, "expected a record (a JSON object), found " + quoteByte(c)}
		}
		end, err := d.scanValue(b, i)
		if err != nil {
			return err
		}
		if err := d.deliver(b[i:end]); err != nil {
			return err
		}
		d.pos, d.state = end, stArrNext
		return nil
	case stArrNext:
		switch c {
		case ',':
			d.pos, d.state = i+1, stArrElem
		case ']':
			d.pos = i + 1
			d.endArray()
		default:
			return &syntaxError{i, "expected ',' or ']' after a record, found " + quoteByte(c)}
		}
		return nil
	case stWrapNext:
		switch c {
		case ',':
			d.pos, d.state = i+1, stWrapKey
		case '}':
			d.pos, d.state = i+1, stTop
		default:
			return &syntaxError{i, "expected ',' or '}' in the {\"Records\":…} object, found " + quoteByte(c)}
		}
		return nil
	case stWrapKey:
		end, records, err := d.member(b, i)
		if err != nil {
			return err
		}
		if records {
			d.pos, d.state = end, stArrFirst
		} else {
			d.pos, d.state = end, stWrapNext
		}
		return nil
	}
	panic("logfile: unknown decoder state")
}

func (d *decoder) endArray() {
	if d.wrapper {
		d.state = stWrapNext
	} else {
		d.state = stTop
	}
}

func (d *decoder) deliver(raw []byte) error {
	if err := d.fn(raw[:len(raw):len(raw)]); err != nil {
		d.fnErr = err
		return errStop
	}
	d.records++
	return nil
}

// classify looks at the object starting at b[i] ('{') and decides whether it
// is a {"Records":[…]} wrapper (records is true and end is just past the
// array's '[') or a record (end is just past its '}').
func (d *decoder) classify(b []byte, i int) (end int, records bool, err error) {
	j := skipWS(b, i+1)
	if j >= len(b) {
		return 0, false, errShort
	}
	if b[j] == '}' {
		return j + 1, false, nil
	}
	for {
		end, records, err := d.member(b, j)
		if err != nil || records {
			return end, records, err
		}
		j = skipWS(b, end)
		if j >= len(b) {
			return 0, false, errShort
		}
		switch b[j] {
		case ',':
			j = skipWS(b, j+1)
			if j >= len(b) {
				return 0, false, errShort
			}
		case '}':
			return j + 1, false, nil
		default:
			return 0, false, &syntaxError{j, "expected ',' or '}' in object, found " + quoteByte(b[j])}
		}
	}
}

// member scans `"key": value` at b[i]. If the key is Records it insists on
// an array and stops just inside it (records true); otherwise it returns
// the end of the value.
func (d *decoder) member(b []byte, i int) (end int, records bool, err error) {
	if b[i] != '"' {
		return 0, false, &syntaxError{i, "expected a string key, found " + quoteByte(b[i])}
	}
	kend, err := scanString(b, i)
	if err != nil {
		return 0, false, err
	}
	j := skipWS(b, kend)
	if j >= len(b) {
		return 0, false, errShort
	}
	if b[j] != ':' {
		return 0, false, &syntaxError{j, "expected ':' after object key, found " + quoteByte(b[j])}
	}
	j = skipWS(b, j+1)
	if j >= len(b) {
		return 0, false, errShort
	}
	if string(b[i+1:kend-1]) == "Records" {
		if b[j] != '[' {
			return 0, false, &syntaxError{j, "not CloudTrail JSON: \"Records\" is not an array, found " + quoteByte(b[j])}
		}
		return j + 1, true, nil
	}
	end, err = d.scanValue(b, j)
	return end, false, err
}

// scanValue validates the JSON value starting at b[i] and returns the index
// just past it, or errShort if b ends first. It is iterative so that deep
// nesting costs a byte of stack per level, not a Go frame.
func (d *decoder) scanValue(b []byte, i int) (int, error) {
	stack := d.stack[:0]
	defer func() { d.stack = stack[:0] }()
	for {
		// A value starts at b[i] (after optional whitespace).
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errShort
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			j := skipWS(b, i+1)
			if j >= len(b) {
				return 0, errShort
			}
			if (c == '{' && b[j] == '}') || (c == '[' && b[j] == ']') {
				i = j + 1
				break
			}
			if len(stack) >= maxDepth {
				return 0, &syntaxError{i, fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
			}
			stack = append(stack, c)
			if c == '{' {
				var err error
				if i, err = scanKey(b, j); err != nil {
					return 0, err
				}
			} else {
				i = j
			}
			continue
		case c == '"':
			var err error
			if i, err = scanString(b, i); err != nil {
				return 0, err
			}
		case c == '-' || isDigit(c):
			var err error
			if i, err = scanNumber(b, i); err != nil {
				return 0, err
			}
		case c == 't':
			var err error
			if i, err = scanLiteral(b, i, "true"); err != nil {
				return 0, err
			}
		case c == 'f':
			var err error
			if i, err = scanLiteral(b, i, "false"); err != nil {
				return 0, err
			}
		case c == 'n':
			var err error
			if i, err = scanLiteral(b, i, "null"); err != nil {
				return 0, err
			}
		default:
			return 0, &syntaxError{i, "invalid character " + quoteByte(c) + " looking for beginning of value"}
		}
		// A value ended at i: close containers or move to the next element.
		for {
			if len(stack) == 0 {
				return i, nil
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, errShort
			}
			top := stack[len(stack)-1]
			c := b[i]
			if c == ',' {
				if top == '{' {
					var err error
					if i, err = scanKey(b, skipWS(b, i+1)); err != nil {
						return 0, err
					}
				} else {
					i++
				}
				break
			}
			if (c == '}' && top == '{') || (c == ']' && top == '[') {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if top == '{' {
				return 0, &syntaxError{i, "invalid character " + quoteByte(c) + " after object value (expecting ',' or '}')"}
			}
			return 0, &syntaxError{i, "invalid character " + quoteByte(c) + " after array element (expecting ',' or ']')"}
		}
	}
}

// scanKey scans `"key" :` at b[i] and returns the index after the colon.
func scanKey(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errShort
	}
	if b[i] != '"' {
		return 0, &syntaxError{i, "invalid character " + quoteByte(b[i]) + " looking for beginning of object key string"}
	}
	i, err := scanString(b, i)
	if err != nil {
		return 0, err
	}
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, errShort
	}
	if b[i] != ':' {
		return 0, &syntaxError{i, "invalid character " + quoteByte(b[i]) + " after object key"}
	}
	return i + 1, nil
}

// strStop marks the bytes that end the fast path through a string.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString scans the string starting at b[i] ('"') and returns the index
// past its closing quote.
func scanString(b []byte, i int) (int, error) {
	i++
	for {
		// Eight bytes at a time while none of them can end the fast path
		// (SWAR: a word "has a zero byte" iff (v-lo)&^v&hi != 0; false
		// positives only after a real match, where the byte loop takes over).
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(lo*'"'), x^(lo*'\\')
			if ((q-lo)&^q|(bs-lo)&^bs|(x-lo*0x20)&^x)&hi != 0 {
				break
			}
			i += 8
		}
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, errShort
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return 0, errShort
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					// Check what there is so a bad escape is not mistaken for a short one.
					for k := i + 2; k < len(b); k++ {
						if !isHex(b[k]) {
							return 0, &syntaxError{k, "invalid character " + quoteByte(b[k]) + " in \\u escape"}
						}
					}
					return 0, errShort
				}
				for k := i + 2; k < i+6; k++ {
					if !isHex(b[k]) {
						return 0, &syntaxError{k, "invalid character " + quoteByte(b[k]) + " in \\u escape"}
					}
				}
				i += 6
			default:
				return 0, &syntaxError{i + 1, "invalid character " + quoteByte(b[i+1]) + " in string escape"}
			}
		default:
			return 0, &syntaxError{i, "invalid control character " + quoteByte(c) + " in string"}
		}
	}
}

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// scanNumber checks JSON number syntax: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
// Running into the end of b is errShort: inside a record a number is always
// followed by a delimiter.
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
		if i >= len(b) {
			return 0, errShort
		}
	}
	switch {
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return 0, &syntaxError{i, "invalid character " + quoteByte(b[i]) + " in numeric literal"}
	}
	if i >= len(b) {
		return 0, errShort
	}
	if b[i] == '.' {
		i++
		if i >= len(b) {
			return 0, errShort
		}
		if !isDigit(b[i]) {
			return 0, &syntaxError{i, "invalid character " + quoteByte(b[i]) + " after decimal point in numeric literal"}
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
		if i >= len(b) {
			return 0, errShort
		}
	}
	if b[i] == 'e' || b[i] == 'E' {
		i++
		if i >= len(b) {
			return 0, errShort
		}
		if b[i] == '+' || b[i] == '-' {
			i++
			if i >= len(b) {
				return 0, errShort
			}
		}
		if !isDigit(b[i]) {
			return 0, &syntaxError{i, "invalid character " + quoteByte(b[i]) + " in exponent of numeric literal"}
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
		}
		if i >= len(b) {
			return 0, errShort
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, errShort
		}
		if b[i+k] != lit[k] {
			return 0, &syntaxError{i + k, "invalid character " + quoteByte(b[i+k]) + " in literal " + lit}
		}
	}
	return i + len(lit), nil
}

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

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

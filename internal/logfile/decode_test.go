package logfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/klauspost/compress/gzip"
)

var sample = [][]byte{
	[]byte(`{"eventVersion":"1.11","eventTime":"2024-01-02T03:04:05Z","eventName":"DescribeInstances","requestParameters":{"instancesSet":{},"filterSet":{}},"readOnly":true}`),
	// Whitespace, escapes, numbers and nesting inside a record survive unchanged.
	[]byte("{ \"eventVersion\" : \"1.08\",\n\t\"eventName\":\"Put\\\"Obj\\u00e9ct\\/\",\"n\":[-0.5e+10,0,1E3,{}],\"x\":null,\"y\":false , \"z\" : [ ] }"),
	[]byte(`{}`),
	[]byte(`{"Records2":[1],"a":{"Records":[{"nested":true}]}}`),
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := logfile.WriteGzip(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeAll returns copies of the records Decode delivers, and its error.
func decodeAll(r io.Reader) ([][]byte, error) {
	var out [][]byte
	err := logfile.Decode(r, func(raw []byte) error {
		out = append(out, bytes.Clone(raw))
		return nil
	})
	return out, err
}

func join(recs [][]byte, sep string) []byte {
	var b []byte
	for i, r := range recs {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, r...)
	}
	return b
}

func TestDecodeForms(t *testing.T) {
	wrapped := logfile.Marshal(sample)
	tests := []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"Records", wrapped, sample},
		{"Records gzip", gz(t, wrapped), sample},
		{"two gzip members", append(gz(t, wrapped), gz(t, logfile.Marshal(sample[:2]))...), append(append([][]byte{}, sample...), sample[:2]...)},
		{"array", []byte("[" + string(join(sample, " ,\n")) + "]"), sample},
		{"NDJSON", []byte("\n" + string(join(sample, "\n\n")) + "\n"), sample},
		{"NDJSON CRLF, no final newline", join(sample, "\r\n"), sample},
		{"NDJSON gzip", gz(t, join(sample, "\n")), sample},
		{"other top-level keys", []byte(`{"a":{"Records":[{"no":1}]},"Records":[` + string(join(sample, ",")) + `],"b":[1,{"c":"]"}],"Records":[{"again":1}]}`),
			append(append([][]byte{}, sample...), []byte(`{"again":1}`))},
		{"Records not first, whitespace", []byte(" { \"x\" : 1 , \"Records\" : [ " + string(sample[0]) + " ] } "), sample[:1]},
		{"empty Records", []byte(`{"Records":[]}`), nil},
		{"empty file", nil, nil},
		{"empty gzip", gz(t, nil), nil},
		{"only whitespace", []byte(" \n\t\r\n"), nil},
		{"byte order mark", append([]byte{0xEF, 0xBB, 0xBF}, wrapped...), sample},
		{"wrapper then records then array", []byte(string(wrapped) + "\n" + string(sample[0]) + "[" + string(sample[1]) + "]"),
			append(append([][]byte{}, sample...), sample[0], sample[1])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rd := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", bytes.NewReader(tt.in)},
				{"one byte at a time", iotest.OneByteReader(bytes.NewReader(tt.in))},
				{"data with EOF", iotest.DataErrReader(bytes.NewReader(tt.in))},
			} {
				got, err := decodeAll(rd.r)
				if err != nil {
					t.Fatalf("%s: %v", rd.name, err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("%s: got %d records, want %d:\n%s", rd.name, len(got), len(tt.want), join(got, "\n"))
				}
				for i := range got {
					if !bytes.Equal(got[i], tt.want[i]) {
						t.Errorf("%s: record %d =\n %s\nwant\n %s", rd.name, i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	wrapped := logfile.Marshal(sample)
	zipped := gz(t, wrapped)
	tests := []struct {
		name      string
		in        []byte
		delivered int    // records delivered before the error; -1: don't check
		offset    int64  // -1: don't check
		reason    string // substring of the error
	}{
		{"not JSON", []byte("hello"), 0, 0, `not CloudTrail JSON: expected {"Records":[…]}, an array of records or a record, found 'h'`},
		{"zip file", []byte("PK\x03\x04"), 0, 0, "found 'P'"},
		{"top-level string", []byte(`"x"`), 0, 0, "not CloudTrail JSON"},
		{"truncated JSON", wrapped[:len(wrapped)-10], 3, int64(len(wrapped) - 10), "unexpected end of data inside a record"},
		{"truncated after last record", wrapped[:len(wrapped)-2], 4, int64(len(wrapped) - 2), "unexpected end of data inside a record or the records array"},
		{"truncated wrapper", wrapped[:len(wrapped)-1], 4, int64(len(wrapped) - 1), `inside the {"Records":…} object`},
		{"truncated NDJSON", []byte(string(sample[0]) + "\n{\"a\":"), 1, -1, "unexpected end of data inside a top-level value"},
		{"truncated gzip", zipped[:len(zipped)-9], -1, -1, "truncated gzip stream"},
		{"gzip header only", zipped[:5], 0, 0, "truncated gzip stream"},
		{"gzip checksum", append(append([]byte{}, zipped[:len(zipped)-8]...), 0, 0, 0, 0, 0, 0, 0, 0), 4, -1, "gzip checksum mismatch"},
		{"garbage after gzip member", append(append([]byte{}, zipped...), "junk after the member"...), 4, -1, "trailing data after the last gzip member"},
		{"short garbage after gzip member", append(append([]byte{}, zipped...), "junk"...), 4, -1, "truncated gzip stream"},
		{"record not an object", []byte(`{"Records":[` + string(sample[0]) + `,1]}`), 1, int64(len(`{"Records":[`) + len(sample[0]) + 1), "expected a record (a JSON object), found '1'"},
		{"Records null", []byte(`{"Records":null}`), 0, 11, `"Records" is not an array`},
		{"trailing comma", []byte(`[{"a":1},]`), 1, 9, "expected a record"},
		{"bad escape", []byte(`{"Records":[{"a":"\x"}]}`), 0, 19, `invalid character 'x' in string escape`},
		{"bad unicode escape", []byte(`[{"a":"\u12G4"}]`), 0, 11, `invalid character 'G' in \u escape`},
		{"control character", []byte("[{\"a\":\"x\ty\"}]"), 0, 8, "invalid control character byte 0x09 in string"},
		{"bad literal", []byte(`[{"a":tru}]`), 0, 9, "invalid character '}' in literal true"},
		{"bad number", []byte(`[{"a":01}]`), 0, 7, "invalid character '1' after object value"},
		{"bad number 2", []byte(`[{"a":1.}]`), 0, 8, "after decimal point"},
		{"missing colon", []byte(`[{"a" 1}]`), 0, 6, "after object key"},
		{"missing comma", []byte(`[{"a":1 "b":2}]`), 0, 8, "after object value"},
		{"mismatched bracket", []byte(`[{"a":[1}]`), 0, 8, "after array element"},
		{"garbage between records", []byte(string(sample[0]) + "\nx"), 1, int64(len(sample[0]) + 1), "not CloudTrail JSON"},
		{"deep nesting", []byte("[{\"a\":" + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}]"), 0, -1, "nesting deeper than 10000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(tt.in), iotest.OneByteReader(bytes.NewReader(tt.in))} {
				got, err := decodeAll(r)
				var de *logfile.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, want a *DecodeError", err)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("err = %q, want it to contain %q", err, tt.reason)
				}
				if de.Record != len(got) || (tt.delivered >= 0 && len(got) != tt.delivered) {
					t.Errorf("delivered %d records, error says record %d; want %d", len(got), de.Record, tt.delivered)
				}
				if tt.offset >= 0 && de.Offset != tt.offset {
					t.Errorf("offset = %d, want %d (%v)", de.Offset, tt.offset, err)
				}
			}
		})
	}
}

func TestDecodeStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := logfile.Decode(bytes.NewReader(logfile.Marshal(sample)), func([]byte) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("err = %v after %d calls, want the callback's error after 2", err, n)
	}
	// Even io.EOF is the callback's to return, not the end of input.
	err = logfile.Decode(bytes.NewReader(logfile.Marshal(sample)), func([]byte) error { return io.EOF })
	if err != io.EOF {
		t.Fatalf("err = %v, want io.EOF from the callback", err)
	}
}

// Records bigger than the initial buffer are fine; bigger than
// MaxRecordSize are refused without holding the whole input.
func TestDecodeRecordSize(t *testing.T) {
	big := []byte(`{"a":"` + strings.Repeat("x", 3<<20) + `"}`)
	got, err := decodeAll(bytes.NewReader(logfile.Marshal([][]byte{sample[0], big, sample[0]})))
	if err != nil || len(got) != 3 || !bytes.Equal(got[1], big) {
		t.Fatalf("3 MB record: %d records, err %v", len(got), err)
	}
	huge := io.MultiReader(strings.NewReader(`{"Records":[{"a":"`), infiniteX{})
	_, err = decodeAll(huge)
	if err == nil || !strings.Contains(err.Error(), "MaxRecordSize") {
		t.Fatalf("unterminated record: err = %v", err)
	}
}

type infiniteX struct{}

func (infiniteX) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestRoundTrip(t *testing.T) {
	recs := append([][]byte{}, sample...)
	for i := 0; i < 500; i++ {
		recs = append(recs, []byte(`{"eventVersion":"1.11","i":`+strings.Repeat("1", i%40+1)+`,"s":"`+strings.Repeat("é", i)+`"}`))
	}
	plain := logfile.Marshal(recs)
	if !bytes.HasPrefix(plain, []byte(`{"Records":[`+string(recs[0])+`,`)) || !bytes.HasSuffix(plain, []byte(`,`+string(recs[len(recs)-1])+`]}`)) {
		t.Fatalf("Marshal framing wrong: %.60s … %.60s", plain, plain[len(plain)-60:])
	}
	if !json.Valid(plain) {
		t.Fatal("Marshal output is not valid JSON")
	}
	if got := logfile.Marshal(nil); string(got) != `{"Records":[]}` {
		t.Errorf("Marshal(nil) = %s", got)
	}
	z := gz(t, plain)

	// Exactly one gzip member and nothing after it.
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	inflated, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(inflated, plain) {
		t.Fatalf("first member: %v, equal %v", err, bytes.Equal(inflated, plain))
	}
	if err := zr.Reset(bytes.NewReader(nil)); err != io.EOF {
		t.Fatalf("expected nothing after the member, got %v", err)
	}
	if !bytes.Equal(gz(t, plain), z) {
		t.Error("WriteGzip is not deterministic")
	}

	got, err := decodeAll(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(logfile.Marshal(got), plain) {
		t.Fatal("Decode(WriteGzip(Marshal(recs))) differs from recs")
	}
}

func TestWriteGzipError(t *testing.T) {
	if err := logfile.WriteGzip(failWriter{}, []byte("x")); err == nil || !strings.Contains(err.Error(), "logfile: gzip") {
		t.Fatalf("err = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// The decoder must agree with encoding/json and with itself however the
// input is split into reads.
func FuzzDecode(f *testing.F) {
	f.Add(logfile.Marshal(sample))
	f.Add(join(sample, "\n"))
	f.Add([]byte("[" + string(join(sample, ",")) + "]"))
	f.Add(gz(f, logfile.Marshal(sample)))
	f.Add([]byte(`{"a":1,"Records":[{"b":[1,2,{"c":"\u00e9"}]}],"d":null}`))
	f.Add([]byte(`{"Records":[{"a":-1.5e-7}]}{"Records":[]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeAll(bytes.NewReader(in))
		got1, err1 := decodeAll(iotest.OneByteReader(bytes.NewReader(in)))
		if (err == nil) != (err1 == nil) || (err != nil && err.Error() != err1.Error()) {
			t.Fatalf("read size changes the result:\nwhole: %v\n1byte: %v", err, err1)
		}
		if len(got) != len(got1) {
			t.Fatalf("read size changes the records: %d vs %d", len(got), len(got1))
		}
		for i := range got {
			if !bytes.Equal(got[i], got1[i]) {
				t.Fatalf("record %d differs by read size", i)
			}
			if !json.Valid(got[i]) || got[i][0] != '{' || got[i][len(got[i])-1] != '}' {
				t.Fatalf("record %d is not a JSON object: %q", i, got[i])
			}
		}
		var de *logfile.DecodeError
		if err != nil {
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Record != len(got) || de.Offset < 0 {
				t.Fatalf("error %v: record %d, delivered %d", err, de.Record, len(got))
			}
		}
		// Compressed, the same bytes decode the same way.
		if len(in) < 2 || in[0] != 0x1f || in[1] != 0x8b {
			gotz, errz := decodeAll(bytes.NewReader(gz(t, in)))
			var dez *logfile.DecodeError
			if (err == nil) != (errz == nil) || len(gotz) != len(got) ||
				(err != nil && (!errors.As(errz, &dez) || dez.Offset != de.Offset || dez.Record != de.Record || !strings.HasPrefix(dez.Reason, de.Reason))) {
				t.Fatalf("gzip changes the result:\nplain: %d records, %v\ngzip:  %d records, %v", len(got), err, len(gotz), errz)
			}
			for i := range got {
				if !bytes.Equal(got[i], gotz[i]) {
					t.Fatalf("record %d differs under gzip", i)
				}
			}
		}
		// Valid JSON in a form Decode accepts must decode, to the same records.
		if len(in) > 0 && in[0] == '[' && json.Valid(in) {
			var arr []json.RawMessage
			if json.Unmarshal(in, &arr) == nil {
				objects := true
				for _, a := range arr {
					objects = objects && len(a) > 0 && a[0] == '{'
				}
				if objects {
					if err != nil {
						t.Fatalf("valid array of objects rejected: %v", err)
					}
					if len(arr) != len(got) {
						t.Fatalf("got %d records, encoding/json sees %d", len(got), len(arr))
					}
					for i := range arr {
						if !bytes.Equal(arr[i], got[i]) {
							t.Fatalf("record %d: %q vs encoding/json %q", i, got[i], arr[i])
						}
					}
				}
			}
		}
	})
}

// A Decoder reused across files, good and bad, gzip and plain, gives what a
// fresh Decode gives each of them.
func TestDecoderReuse(t *testing.T) {
	wrapped := logfile.Marshal(sample)
	zipped := gz(t, wrapped)
	big := logfile.Marshal([][]byte{[]byte(`{"a":"` + strings.Repeat("x", 2<<20) + `"}`)})
	files := [][]byte{zipped, wrapped, zipped[:len(zipped)-9], zipped, []byte("hello"), gz(t, big), join(sample, "\n"), zipped[:5], zipped}
	var dec logfile.Decoder
	for i, f := range files {
		want, wantErr := decodeAll(bytes.NewReader(f))
		var got [][]byte
		err := dec.Decode(bytes.NewReader(f), func(raw []byte) error {
			got = append(got, bytes.Clone(raw))
			return nil
		})
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || len(got) != len(want) {
			t.Fatalf("file %d: %d records, err %v; want %d, %v", i, len(got), err, len(want), wantErr)
		}
		for k := range got {
			if !bytes.Equal(got[k], want[k]) {
				t.Fatalf("file %d record %d differs", i, k)
			}
		}
	}
}

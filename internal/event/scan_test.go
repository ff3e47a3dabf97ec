package event

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanSyntax(t *testing.T) {
	valid := []string{
		`{}`, `{"a":[]}`, `{"a":{}}`, `{"a":-0.5e+10}`, `{"a":"\u00e9\ud83d\ude00\n\"\\\/"}`, ` {"a" : [ 1 , 2 ] } `,
		`{"eventName":"A","eventSource":"b","x":[true,false,null,{"y":[0]}]}`,
	}
	invalid := []string{
		`{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":[1,]}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":tru}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":"unterminated}`, `{a:1}`, `{"a":1}x`, `{"a":1}{}`,
		`{"a":[}`, `{"a":-}`, `{'a':1}`, `{"a":NaN}`,
	}
	for _, s := range valid {
		sc := scanner{b: []byte(s)}
		if _, err := sc.skip(); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range invalid {
		sc := scanner{b: []byte(s)}
		_, err := sc.skip()
		if err == nil {
			sc.ws()
			if sc.pos == len(sc.b) {
				t.Errorf("%s accepted", s)
			}
		}
	}
}

func TestScanDepthLimit(t *testing.T) {
	deep := `{"eventName":"A","eventSource":"b","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`
	if _, err := Parse([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("got %v", err)
	}
}

func TestUnquote(t *testing.T) {
	for raw, want := range map[string]string{
		`plain`:                "plain",
		`a\"b\\c\/d\n\t\r\b\f`: "a\"b\\c/d\n\t\r\b\f",
		`\u00e9`:               "é",
		`\ud83d\ude00`:         "😀",
		`\ud83d`:               "\uFFFD",
	} {
		if got := unquote([]byte(raw)); got != want {
			t.Errorf("unquote(%s) = %q, want %q", raw, got, want)
		}
	}
}

// reference fields: the record's JSON names of string and boolean members.
var (
	stringFields = map[string]func(*Record) string{
		"eventVersion": func(r *Record) string { return r.EventVersion }, "eventTime": func(r *Record) string { return r.EventTimeText },
		"eventSource": func(r *Record) string { return r.EventSource }, "eventName": func(r *Record) string { return r.EventName },
		"awsRegion": func(r *Record) string { return r.AWSRegion }, "sourceIPAddress": func(r *Record) string { return r.SourceIPAddress },
		"userAgent": func(r *Record) string { return r.UserAgent }, "errorCode": func(r *Record) string { return r.ErrorCode },
		"errorMessage": func(r *Record) string { return r.ErrorMessage }, "requestID": func(r *Record) string { return r.RequestID },
		"eventID": func(r *Record) string { return r.EventID }, "eventType": func(r *Record) string { return r.EventType },
		"recipientAccountId": func(r *Record) string { return r.RecipientAccountID }, "eventCategory": func(r *Record) string { return r.EventCategory },
	}
	rawFields = map[string]func(*Record) json.RawMessage{
		"requestParameters":   func(r *Record) json.RawMessage { return r.RequestParameters },
		"responseElements":    func(r *Record) json.RawMessage { return r.ResponseElements },
		"additionalEventData": func(r *Record) json.RawMessage { return r.AdditionalEventData },
	}
)

// FuzzScanMatchesEncodingJSON checks the scanner against encoding/json: the same syntax
// verdict, and on success the same values.
func FuzzScanMatchesEncodingJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"eventName":"A","eventSource":"b","readOnly":null,"resources":[null,{"ARN":"x"}],"userIdentity":{"type":"Root"},"userIdentity":{"arn":"y"}}`))
	f.Add([]byte(`{"eventName":"A\u0041","eventSource":"b","requestParameters":{"a":[1,{"b":null}]},"responseElements":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		trimmed := bytes.TrimSpace(raw)
		if !utf8.Valid(raw) || len(raw) > MaxRecordBytes || len(trimmed) == 0 || trimmed[0] != '{' {
			return // Parse rejects these before scanning
		}
		r, err := Parse(raw)
		valid := json.Valid(trimmed)
		if !valid {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", raw)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "malformed JSON") && !strings.Contains(err.Error(), "nested more than") {
				t.Fatalf("rejected valid JSON %q: %v", raw, err)
			}
			return
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &ref); err != nil {
			t.Fatalf("reference decode: %v", err)
		}
		for name, get := range stringFields {
			want := ""
			if v, ok := ref[name]; ok && string(v) != "null" {
				if err := json.Unmarshal(v, &want); err != nil {
					t.Fatalf("%s: scanner accepted %s as a string", name, v)
				}
			}
			if ok := bytes.Count(raw, []byte(`"`+name+`"`)) <= 1; ok && get(r) != want {
				t.Fatalf("%s = %q, encoding/json says %q (input %q)", name, get(r), want, raw)
			}
		}
		for name, get := range rawFields {
			if v, ok := ref[name]; ok && bytes.Count(raw, []byte(`"`+name+`"`)) == 1 {
				var a, b any
				json.Unmarshal(v, &a)
				json.Unmarshal(get(r), &b)
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("%s = %s, encoding/json says %s", name, get(r), v)
				}
			}
		}
		if v, ok := ref["readOnly"]; ok && bytes.Count(raw, []byte(`"readOnly"`)) == 1 {
			var want *bool
			json.Unmarshal(v, &want)
			if (want == nil) != (r.ReadOnly == nil) || want != nil && *want != *r.ReadOnly {
				t.Fatalf("readOnly = %v, encoding/json says %s", r.ReadOnly, v)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw, err := os.ReadFile("testdata/run-instances-1.11.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

package pattern

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tcase is one line of a testdata/*.jsonl conformance table; see the header
// of testdata/reference.jsonl for the format.
type tcase struct {
	ID    string `json:"id"`
	Event string `json:"event"`

	P    string            `json:"p"`
	E    *string           `json:"e"`
	M    json.RawMessage   `json:"m"`
	X    map[string]string `json:"x"`
	Err  string            `json:"err"`
	Col  int               `json:"col"`
	Refs map[string]string `json:"refs"`
	S    string            `json:"s"`
	Note string            `json:"note"`

	file string
	line int
	msg  string // the message, events resolved
}

func (c *tcase) name() string {
	return filepath.Base(c.file) + ":" + itoa(c.line)
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

// loadCases reads every testdata/*.jsonl table.
func loadCases(t testing.TB) []tcase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance tables: %v", err)
	}
	var all []tcase
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		events := map[string]string{}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			var c tcase
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("%s:%d: %v", f, n, err)
			}
			c.file, c.line = f, n
			if c.ID != "" {
				events[c.ID] = c.Event
				continue
			}
			if c.E != nil {
				c.msg = *c.E
				if ev, ok := events[*c.E]; ok {
					c.msg = ev
				}
			}
			all = append(all, c)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

func TestConformance(t *testing.T) {
	cases := loadCases(t)
	counts := map[string]int{}
	for _, c := range cases {
		counts[filepath.Base(c.file)]++
		t.Run(c.name(), func(t *testing.T) {
			var want any
			if err := json.Unmarshal(c.M, &want); err != nil {
				t.Fatalf("bad m: %v", err)
			}
			p, err := Compile(c.P)
			if want == "reject" {
				if err == nil {
					t.Fatalf("Compile(%q) succeeded; want an error (%s)", c.P, c.Note)
				}
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Compile(%q) error %T is not a *SyntaxError", c.P, err)
				}
				if c.Err != "" && !strings.Contains(err.Error(), c.Err) {
					t.Errorf("Compile(%q) error %q; want it to contain %q", c.P, err, c.Err)
				}
				if c.Col != 0 && se.Column != c.Col {
					t.Errorf("Compile(%q) error at column %d; want %d (%v)", c.P, se.Column, c.Col, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%q): %v", c.P, err)
			}
			if c.E == nil {
				return // a compile-only case
			}
			msg := []byte(c.msg)
			if got := p.Match(msg); got != want {
				t.Errorf("Compile(%q).Match(%q) = %v; want %v  [%s] %s", c.P, truncate(c.msg, 200), got, want, c.S, c.Note)
			}
			x, ok := p.Extract(msg)
			if ok != want {
				t.Errorf("Extract(%q) matched = %v; want %v", truncate(c.msg, 200), ok, want)
			}
			if c.X != nil && !reflect.DeepEqual(x, c.X) {
				t.Errorf("Compile(%q).Extract(%q) = %v; want %v", c.P, truncate(c.msg, 200), x, c.X)
			}
			for ref, wantV := range c.Refs {
				r, err := p.Ref(ref)
				if err != nil {
					if wantV == "reject" {
						continue
					}
					t.Errorf("Ref(%q): %v", ref, err)
					continue
				}
				if wantV == "reject" {
					t.Errorf("Ref(%q) succeeded; want an error", ref)
					continue
				}
				v := r.Lookup(msg)
				if got := kindNames[v.Kind] + ":" + v.String(); got != wantV {
					t.Errorf("Ref(%q).Lookup = %q; want %q", ref, got, wantV)
				}
			}
		})
	}
	t.Logf("cases per table: %v", counts)
}

var kindNames = map[ValueKind]string{Missing: "missing", Null: "null", String: "string", Number: "number", Bool: "bool", Object: "object", Array: "array"}

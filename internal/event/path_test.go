package event

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, bad := range []string{"", ".", "a.", ".a", "a..b"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted", bad)
		}
	}
	p, err := ParsePath("userIdentity.sessionContext.sessionIssuer.userName")
	if err != nil || len(p) != 4 || p.String() != "userIdentity.sessionContext.sessionIssuer.userName" {
		t.Fatalf("ParsePath = %v, %v", p, err)
	}
}

func TestFieldsExtract(t *testing.T) {
	rec := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s",` +
		`"sessionContext":{"sessionIssuer":{},"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2024-01-02T03:04:05Z",` +
		`"requestParameters":null,"responseElements":{"a":[1,{"b":"x\"y"}]},"resources":[{"ARN":"arn:1"},{"ARN":"arn:2","type":"T"}],` +
		`"n":-1.5e3,"ro":true,"esc\u0061ped":"\u00e9\n","dup":1,"dup":2}`
	tests := []struct {
		path string
		want string // JSON text; "<nil>" for absent
		text string // AppendText
	}{
		{"eventVersion", `"1.08"`, "1.08"},
		{"userIdentity.type", `"AssumedRole"`, "AssumedRole"},
		{"userIdentity.userName", "<nil>", ""},
		{"userIdentity.sessionContext.sessionIssuer", `{}`, "{}"},
		{"userIdentity.sessionContext.sessionIssuer.userName", "<nil>", ""},
		{"userIdentity.sessionContext.attributes.mfaAuthenticated", `"false"`, "false"},
		{"requestParameters", `null`, ""},
		{"requestParameters.x", "<nil>", ""},
		{"responseElements", `{"a":[1,{"b":"x\"y"}]}`, `{"a":[1,{"b":"x\"y"}]}`},
		{"responseElements.a.1.b", `"x\"y"`, `x"y`},
		{"responseElements.a.0", `1`, "1"},
		{"responseElements.a.2", "<nil>", ""},
		{"resources.1.ARN", `"arn:2"`, "arn:2"},
		{"resources.0.type", "<nil>", ""},
		{"resources.x", "<nil>", ""},
		{"n", `-1.5e3`, "-1.5e3"},
		{"ro", `true`, "true"},
		{"escaped", `"\u00e9\n"`, "é\n"},
		{"dup", `1`, "1"},
		{"eventTime.x", "<nil>", ""},
		{"missing", "<nil>", ""},
	}
	var paths []Path
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// All at once, and each alone (early stopping must not hide anything).
	check := func(f *Fields, idx []int) {
		t.Helper()
		out := make([][]byte, len(idx))
		if err := f.Extract([]byte(rec), out); err != nil {
			t.Fatal(err)
		}
		for k, i := range idx {
			got := "<nil>"
			if out[k] != nil {
				got = string(out[k])
			}
			if got != tests[i].want {
				t.Errorf("%s = %s, want %s", tests[i].path, got, tests[i].want)
			}
			if text := string(AppendText(nil, out[k])); text != tests[i].text {
				t.Errorf("text of %s = %q, want %q", tests[i].path, text, tests[i].text)
			}
		}
	}
	all := make([]int, len(tests))
	for i := range tests {
		all[i] = i
		check(NewFields([]Path{paths[i]}), []int{i})
	}
	check(NewFields(paths), all)
	// The same path twice gets the value twice.
	f := NewFields([]Path{paths[0], paths[0]})
	out := make([][]byte, 2)
	if err := f.Extract([]byte(rec), out); err != nil || string(out[1]) != `"1.08"` {
		t.Fatalf("repeated path: %q, %v", out, err)
	}
}

func TestFieldsMalformed(t *testing.T) {
	f := NewFields([]Path{{"a"}, {"b", "c"}})
	out := make([][]byte, 2)
	for _, in := range []string{``, `[]`, `"x"`, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":"x}`, `{"a":1 "b":2}`, `{"b":{"c":[1,2}`, `{a:1}`} {
		if err := f.Extract([]byte(in), out); err == nil {
			t.Errorf("Extract(%q) accepted malformed input: %q", in, out)
		}
	}
}

// Every testdata record: the values Extract finds are those encoding/json finds.
func TestFieldsAgainstEncodingJSON(t *testing.T) {
	paths := []string{"eventVersion", "eventTime", "userIdentity.type", "userIdentity.sessionContext.sessionIssuer.userName",
		"requestParameters", "responseElements", "resources.0.ARN", "insightDetails.insightContext.statistics.baseline.average",
		"eventCategory", "tlsDetails.tlsVersion"}
	var ps []Path
	for _, p := range paths {
		pp, _ := ParsePath(p)
		ps = append(ps, pp)
	}
	f := NewFields(ps)
	files, _ := os.ReadDir("testdata")
	for _, fi := range files {
		raw, err := os.ReadFile("testdata/" + fi.Name())
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]byte, len(ps))
		if err := f.Extract(raw, out); err != nil {
			t.Fatalf("%s: %v", fi.Name(), err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		for i, p := range ps {
			want, ok := lookupGeneric(doc, p)
			if !ok {
				if out[i] != nil {
					t.Errorf("%s %s = %s, want absent", fi.Name(), p, out[i])
				}
				continue
			}
			var got any
			if err := json.Unmarshal(out[i], &got); err != nil {
				t.Fatalf("%s %s: %q is not JSON", fi.Name(), p, out[i])
			}
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(got)
			if string(w) != string(g) {
				t.Errorf("%s %s = %s, want %s", fi.Name(), p, g, w)
			}
		}
	}
}

func lookupGeneric(v any, p Path) (any, bool) {
	for _, seg := range p {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i := -1
			for k := range x {
				if seg == strings.TrimSpace(seg) && seg == itoa(k) {
					i = k
				}
			}
			if i < 0 {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func itoa(k int) string { b, _ := json.Marshal(k); return string(b) }

func FuzzFieldsExtract(f *testing.F) {
	files, _ := os.ReadDir("testdata")
	for _, fi := range files {
		raw, _ := os.ReadFile("testdata/" + fi.Name())
		f.Add(raw, "userIdentity.arn")
	}
	f.Add([]byte(`{"a":[{"b":"\\"}],"c":"\"}`), "a.0.b")
	f.Fuzz(func(t *testing.T, raw []byte, path string) {
		p, err := ParsePath(path)
		if err != nil {
			return
		}
		out := make([][]byte, 2)
		fs := NewFields([]Path{p, {"eventName"}})
		if err := fs.Extract(raw, out); err != nil {
			return
		}
		if json.Valid(raw) {
			for _, v := range out {
				if v != nil && !json.Valid(v) {
					t.Fatalf("value %q of valid record %q is not JSON", v, raw)
				}
			}
		}
		_ = AppendText(nil, out[0])
	})
}

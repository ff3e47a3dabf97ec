package lakesql

import (
	"errors"
	"strings"
	"testing"
)

const storeA = "EXAMPLE0-f852-4e8f-8bd1-bcf6cEXAMPLE"

// resolver knows two stores: a UUID and one spelled in capitals.
func resolver(id string) (string, error) {
	switch strings.ToLower(id) {
	case "3f6e4b2a-1c0d-4e8f-8bd1-bcf6c0a1b2c3":
		return "main.eds_a", nil
	case "00000000-0000-4000-8000-0000000000bb":
		return "main.eds_b", nil
	}
	return "", errors.New("unknown store " + id)
}

func TestRewrite(t *testing.T) {
	const a, b = "3f6e4b2a-1c0d-4e8f-8bd1-bcf6c0a1b2c3", "00000000-0000-4000-8000-0000000000bb"
	tests := []struct {
		name, in, want string
		stores         []string
	}{
		{"bare ID", "SELECT * FROM " + a, "SELECT * FROM main.eds_a", []string{a}},
		{"upper-case ID", "SELECT * FROM " + strings.ToUpper(a) + " WHERE x = 1", "SELECT * FROM main.eds_a WHERE x = 1", []string{a}},
		{"quoted ID", `SELECT * FROM "` + a + `"`, "SELECT * FROM main.eds_a", []string{a}},
		{"join with aliases", "select c.x from " + a + " as c join " + b + " as d on c.x = d.x",
			"select c.x from main.eds_a as c join main.eds_b as d on c.x = d.x", []string{a, b}},
		{"same store twice", "SELECT 1 FROM " + a + " UNION SELECT 1 FROM " + a, "SELECT 1 FROM main.eds_a UNION SELECT 1 FROM main.eds_a", []string{a}},
		{"ID in a string stays", "SELECT * FROM " + a + " WHERE eventid = '" + a + "'", "SELECT * FROM main.eds_a WHERE eventid = '" + a + "'", []string{a}},
		{"ID in a comment stays", "SELECT * FROM " + a + " -- not " + b + "\n", "SELECT * FROM main.eds_a -- not " + b + "\n", []string{a}},
		{"trailing semicolons", "SELECT 1 FROM " + a + ";;  \n", "SELECT 1 FROM main.eds_a", []string{a}},
		{"element_at", "SELECT element_at(requestParameters, 'bucketName') FROM " + a, "SELECT trino_element_at(requestParameters, 'bucketName') FROM main.eds_a", []string{a}},
		{"Element_at with space", "SELECT Element_at (m, 'k') FROM " + a, "SELECT trino_element_at (m, 'k') FROM main.eds_a", []string{a}},
		{"qualified names are not renamed", "SELECT x.element_at FROM " + a + " x", "SELECT x.element_at FROM main.eds_a x", []string{a}},
		{"identifier that is not a call", "SELECT date FROM " + a, "SELECT date FROM main.eds_a", []string{a}},
		{"date literal", "SELECT date '2020-01-01', date(eventtime) FROM " + a, "SELECT date '2020-01-01', trino_date(eventtime) FROM main.eds_a", []string{a}},
		{"cast to varchar", "SELECT cast(json_extract(j, '$.a') as varchar) = 'x' FROM " + a, "SELECT trino_varchar(json_extract(j, '$.a')) = 'x' FROM main.eds_a", []string{a}},
		{"cast to varchar(10)", "SELECT CAST(x AS VARCHAR(10)) FROM " + a, "SELECT trino_varchar(x) FROM main.eds_a", []string{a}},
		{"nested casts", "SELECT CAST(CAST(x AS INT) AS VARCHAR) FROM " + a, "SELECT trino_varchar(CAST(x AS INT)) FROM main.eds_a", []string{a}},
		{"cast to another type stays", "SELECT CAST(x AS map(varchar, json)) FROM " + a, "SELECT CAST(x AS map(varchar, json)) FROM main.eds_a", []string{a}},
		{"lambda", "SELECT transform(filter(l, p -> p > 1), q -> q * 2) FROM " + a, "SELECT list_transform(filter(l, p -> p > 1), q -> q * 2) FROM main.eds_a", []string{a}},
		{"no store", "SELECT 1", "SELECT 1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Rewrite(tt.in, resolver)
			if err != nil {
				t.Fatal(err)
			}
			if st.SQL != tt.want {
				t.Errorf("SQL\n got %q\nwant %q", st.SQL, tt.want)
			}
			if strings.Join(st.Stores, ",") != strings.Join(tt.stores, ",") {
				t.Errorf("stores %v, want %v", st.Stores, tt.stores)
			}
		})
	}
}

func TestRewriteRefuses(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"two statements", "SELECT 1; SELECT 2", "only one statement"},
		{"statement after comment", "SELECT 1; -- x\n DROP TABLE t", "only one statement"},
		{"empty", "  \n ", "empty"},
		{"unterminated string", "SELECT 'abc", "string literal is not closed"},
		{"unterminated comment", "SELECT 1 /* x", "comment is not closed"},
		{"unterminated quoted name", `SELECT "abc`, "quoted identifier is not closed"},
		{"unknown store", "SELECT * FROM 11111111-2222-4333-8444-555555555555", "unknown store"},
		{"too long", "SELECT '" + strings.Repeat("x", MaxStatementLength) + "'", "limit is 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Rewrite(tt.in, resolver)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := Rewrite("SELECT 1\nFROM x WHERE y = 'open", resolver)
	if err == nil || err.Error() != "line 2:18: string literal is not closed with '" {
		t.Fatalf("%v", err)
	}
}

func TestLexRoundTrip(t *testing.T) {
	for _, s := range []string{"SELECT a.b, 'x''y', \"q\"\"r\" FROM t -- c\n/* d */ WHERE 1.5e3 >= 2", "select 4e8f-x"} {
		toks, err := lex(s)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, tk := range toks {
			b.WriteString(tk.text)
		}
		if b.String() != s {
			t.Errorf("lex lost text: %q", b.String())
		}
	}
}

// FuzzRewrite: any input either fails cleanly or gives SQL in which the only store references
// are the resolver's tables, and whose text outside strings and comments keeps no store ID.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM 3f6e4b2a-1c0d-4e8f-8bd1-bcf6c0a1b2c3 WHERE eventTime > '2023-01-01 00:00:00'",
		"select cast(json_extract(x, '$.a') as varchar), element_at(m, 'k') from \"00000000-0000-4000-8000-0000000000bb\"",
		"SELECT 1; SELECT 2", "SELECT 'unterminated", "/* comment", "WITH a AS (SELECT 1) SELECT * FROM a",
		"SELECT transform(filter(x, p -> p > 1), q -> q) FROM t", "cast(cast(cast(x as varchar) as varchar) as varchar)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		st, err := Rewrite(in, resolver)
		if err != nil {
			return
		}
		if _, err := lex(st.SQL); err != nil {
			t.Fatalf("rewrite of %q does not lex: %v", in, err)
		}
		for _, s := range st.Stores {
			if _, err := resolver(s); err != nil {
				t.Fatalf("reported store %s was never resolved", s)
			}
		}
		// A second rewrite changes nothing: no ID is left to resolve, and functions are mapped once.
		again, err := Rewrite(st.SQL, resolver)
		if err != nil {
			t.Fatalf("rewriting the output of %q: %v", in, err)
		}
		if len(again.Stores) != 0 {
			t.Fatalf("output of %q still names stores: %q", in, st.SQL)
		}
	})
}

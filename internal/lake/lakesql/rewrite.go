package lakesql

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MaxStatementLength is StartQuery's limit on QueryStatement.
const MaxStatementLength = 10000

// Statement is a Lake statement rewritten for DuckDB.
type Statement struct {
	SQL    string   // what DuckDB runs
	Stores []string // the event data store IDs it names, lower case, in order of first use
}

// Resolver maps an event data store ID, as written in the query, to the table DuckDB reads (an
// SQL name such as main.eds_…), or says why the query may not read it.
type Resolver func(id string) (table string, err error)

// Refused is a statement that is valid SQL but not something Lake runs: several statements,
// anything but a query, a file or another store.
type Refused struct{ Msg string }

func (e *Refused) Error() string { return e.Msg }

func refuse(format string, args ...any) error { return &Refused{Msg: fmt.Sprintf(format, args...)} }

// storeID matches an event data store ID: CloudTrail's are UUIDs, written bare (hyphens and all)
// where a table name goes.
var storeID = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// Rewrite turns a Lake statement into DuckDB SQL: store IDs become their tables, Trino functions
// become their DuckDB equivalents, and CAST(… AS VARCHAR) casts JSON as Trino does. It refuses
// more than one statement. What the statement reads is checked later, on DuckDB's parse (Check).
func Rewrite(sql string, resolve Resolver) (*Statement, error) {
	if strings.TrimSpace(sql) == "" {
		return nil, refuse("the query statement is empty")
	}
	if len(sql) > MaxStatementLength {
		return nil, refuse("the query statement is %d characters long; the limit is %d", len(sql), MaxStatementLength)
	}
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	toks, err = oneStatement(toks)
	if err != nil {
		return nil, err
	}
	if nextCode(toks, 0) < 0 {
		return nil, refuse("the query statement is empty")
	}
	st := &Statement{}
	seen := map[string]bool{}
	use := func(id string) (string, error) {
		table, err := resolve(id)
		if err != nil {
			return "", err
		}
		if id = strings.ToLower(id); !seen[id] {
			seen[id] = true
			st.Stores = append(st.Stores, id)
		}
		return table, nil
	}
	var b strings.Builder
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.kind == tkQuoted && storeID.MatchString(t.text) && len(t.text) == 38:
			table, err := use(t.text[1:37])
			if err != nil {
				return nil, err
			}
			b.WriteString(table)
			i++
		case t.code():
			// A store ID lexes as several adjacent tokens (4e8f is a number, -, an identifier…):
			// match it on the run of code text with no space in between.
			j := i
			for j < len(toks) && toks[j].code() {
				j++
			}
			run := sql[t.pos : toks[j-1].pos+len(toks[j-1].text)]
			out, err := replaceIDs(run, use)
			if err != nil {
				return nil, err
			}
			b.WriteString(out)
			i = j
		default:
			b.WriteString(t.text)
			i++
		}
	}
	// Relex what changed and map functions; IDs became plain names, so tokens are simple now.
	toks, err = lex(b.String())
	if err != nil {
		return nil, err
	}
	st.SQL = mapFunctions(toks)
	return st, nil
}

// oneStatement drops a final semicolon and refuses a second statement.
func oneStatement(toks []token) ([]token, error) {
	for i, t := range toks {
		if t.kind != tkPunct || t.text != ";" {
			continue
		}
		for _, rest := range toks[i+1:] {
			if rest.kind != tkSpace && rest.kind != tkComment && !(rest.kind == tkPunct && rest.text == ";") {
				return nil, refuse("only one statement may be run at a time; found another after the ';' at offset %d", t.pos)
			}
		}
		return toks[:i], nil
	}
	return toks, nil
}

// replaceIDs replaces each store ID in a run of code text that stands alone (not part of a longer
// name or number).
func replaceIDs(run string, use func(string) (string, error)) (string, error) {
	locs := storeID.FindAllStringIndex(run, -1)
	if locs == nil {
		return run, nil
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		if l[0] > 0 && isIdentPart(run[l[0]-1]) || l[1] < len(run) && isIdentPart(run[l[1]]) {
			continue
		}
		table, err := use(run[l[0]:l[1]])
		if err != nil {
			return "", err
		}
		b.WriteString(run[last:l[0]])
		b.WriteString(table)
		last = l[1]
	}
	b.WriteString(run[last:])
	return b.String(), nil
}

// mapFunctions renames Trino functions (see renames) and rewrites CAST(x AS VARCHAR).
func mapFunctions(toks []token) string {
	drop := make([]bool, len(toks))
	text := make([]string, len(toks))
	for i, t := range toks {
		text[i] = t.text
		if t.kind != tkIdent {
			continue
		}
		open := nextCode(toks, i+1)
		if open < 0 || toks[open].text != "(" {
			continue
		}
		if prev := prevCode(toks, i-1); prev >= 0 && toks[prev].text == "." {
			continue // a qualified name is not one of Trino's functions
		}
		name := strings.ToLower(t.text)
		if to, ok := renames[name]; ok {
			text[i] = to
			continue
		}
		if name == "cast" {
			if as, end, ok := castToVarchar(toks, open); ok {
				text[i] = castVarchar
				for k := as; k < end; k++ {
					drop[k] = true
				}
			}
		}
	}
	var b strings.Builder
	for i := range toks {
		if !drop[i] {
			b.WriteString(text[i])
		}
	}
	return b.String()
}

// castToVarchar reports whether the parenthesis at open starts "(expr AS VARCHAR[(n)])", and
// where " AS VARCHAR…" starts and ends (the closing parenthesis).
func castToVarchar(toks []token, open int) (as, end int, ok bool) {
	depth := 0
	as = -1
	for k := open; k < len(toks); k++ {
		t := toks[k]
		if t.kind != tkPunct {
			if depth == 1 && t.is("as") && as < 0 {
				as = k
			}
			continue
		}
		switch t.text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
			if depth == 0 {
				if as < 0 {
					return 0, 0, false
				}
				// Only VARCHAR, optionally with a length, may follow AS.
				typ := nextCode(toks, as+1)
				if typ < 0 || !toks[typ].is("varchar") {
					return 0, 0, false
				}
				n := nextCode(toks, typ+1)
				if n >= 0 && toks[n].text == "(" {
					m := nextCode(toks, n+1)
					c := nextCode(toks, m+1)
					if m < 0 || toks[m].kind != tkNumber || c < 0 || toks[c].text != ")" {
						return 0, 0, false
					}
					n = nextCode(toks, c+1)
				}
				if n != k {
					return 0, 0, false
				}
				// Drop from the space before AS, so "CAST(x AS VARCHAR)" becomes "f(x)".
				start := as
				for start > open+1 && toks[start-1].kind == tkSpace {
					start--
				}
				return start, k, true
			}
		}
	}
	return 0, 0, false
}

// nextCode returns the index of the first token at or after i that is not space or a comment.
func nextCode(toks []token, i int) int {
	for ; i >= 0 && i < len(toks); i++ {
		if toks[i].kind != tkSpace && toks[i].kind != tkComment {
			return i
		}
	}
	return -1
}

// prevCode returns the index of the last token at or before i that is not space or a comment.
func prevCode(toks []token, i int) int {
	for ; i >= 0 && i < len(toks); i-- {
		if toks[i].kind != tkSpace && toks[i].kind != tkComment {
			return i
		}
	}
	return -1
}

// IsSyntax reports whether err is a statement the lexer or DuckDB's parser rejected, or one Lake
// refuses to run, as opposed to a failure of cairn.
func IsSyntax(err error) bool {
	var se *SyntaxError
	var re *Refused
	var pe *ParseError
	return errors.As(err, &se) || errors.As(err, &re) || errors.As(err, &pe)
}

package lakesql

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ParseError is DuckDB's parser rejecting a statement, with its message.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

// TableFunctions may appear in FROM: they read nothing but their arguments.
var tableFunctions = map[string]bool{"unnest": true, "range": true, "generate_series": true}

// deniedFunctions would reveal the server's configuration.
var deniedFunctions = map[string]bool{"current_setting": true, "getenv": true, "getvariable": true}

// InternalPrefix starts the names of cairn's own tables and functions in the Lake database,
// which queries may not name.
const InternalPrefix = "lake_"

// Shape is what Check learns of a statement: how Trino would name its result columns.
type Shape struct {
	items []selectItem
}

type selectItem struct {
	alias string
	class string
	names []string // column_names of a COLUMN_REF
}

// Check inspects DuckDB's parse of a rewritten statement (the JSON that json_serialize_sql
// returns) and refuses anything but one query that reads tables allowed by allowed (given a
// schema, possibly "", and a table name, both lower case), its own CTEs, and UNNEST or ranges.
func Check(ast []byte, allowed func(schema, table string) bool) (*Shape, error) {
	var doc struct {
		Error        bool              `json:"error"`
		ErrorMessage string            `json:"error_message"`
		ErrorType    string            `json:"error_type"`
		Statements   []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal(ast, &doc); err != nil {
		return nil, fmt.Errorf("read DuckDB's parse: %w", err)
	}
	if doc.Error {
		if strings.Contains(doc.ErrorMessage, "Only SELECT statements") {
			return nil, refuse("only SELECT (or WITH … SELECT) queries may be run")
		}
		return nil, &ParseError{Msg: doc.ErrorMessage}
	}
	if len(doc.Statements) != 1 {
		return nil, refuse("only one statement may be run at a time; found %d", len(doc.Statements))
	}
	var stmt any
	d := json.NewDecoder(strings.NewReader(string(doc.Statements[0])))
	d.UseNumber()
	if err := d.Decode(&stmt); err != nil {
		return nil, fmt.Errorf("read DuckDB's parse: %w", err)
	}
	c := checker{allowed: allowed}
	if err := c.walk(stmt, nil); err != nil {
		return nil, err
	}
	return shapeOf(stmt), nil
}

type checker struct {
	allowed func(schema, table string) bool
}

// walk visits every node of the parse. ctes are the CTE names in scope, innermost last.
func (c *checker) walk(v any, ctes []string) error {
	switch n := v.(type) {
	case []any:
		for _, e := range n {
			if err := c.walk(e, ctes); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return c.node(n, ctes)
	}
	return nil
}

func (c *checker) node(n map[string]any, ctes []string) error {
	// A WITH clause: each CTE sees those before it and itself (WITH RECURSIVE); the query sees all.
	if cm, ok := n["cte_map"].(map[string]any); ok {
		defs, _ := cm["map"].([]any)
		scope := ctes
		for _, d := range defs {
			def, _ := d.(map[string]any)
			name, _ := def["key"].(string)
			name = strings.ToLower(name)
			if strings.HasPrefix(name, InternalPrefix) {
				return refuse("a CTE may not be named %q: names starting with %s are reserved", name, InternalPrefix)
			}
			scope = append(scope[:len(scope):len(scope)], name)
			if err := c.walk(def["value"], scope); err != nil {
				return err
			}
		}
		ctes = scope
	}
	typ, _ := n["type"].(string)
	switch typ {
	case "BASE_TABLE":
		catalog, _ := n["catalog_name"].(string)
		schema, _ := n["schema_name"].(string)
		table, _ := n["table_name"].(string)
		schema, table = strings.ToLower(schema), strings.ToLower(table)
		if catalog == "" && schema == "" && contains(ctes, table) {
			break
		}
		if catalog != "" || !c.allowed(schema, table) {
			return refuse("the query may read only event data stores, named by their IDs, and its own WITH queries; %q is neither", qualified(catalog, schema, table))
		}
	case "TABLE_FUNCTION":
		fn, _ := n["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		if !tableFunctions[strings.ToLower(name)] {
			return refuse("the table function %s is not allowed: queries read event data stores only", name)
		}
	case "SHOW_REF", "COLUMN_DATA", "DELIM_GET", "CTE", "BOUND_TABLE_REF", "INVALID":
		// The rest of DuckDB's table reference kinds (the allowed ones are BASE_TABLE,
		// TABLE_FUNCTION, JOIN, SUBQUERY, EMPTY, EXPRESSION_LIST and PIVOT). DESCRIBE and
		// SUMMARIZE in FROM would show another store's columns and values.
		if n["class"] == nil {
			return refuse("%s is not allowed in a Lake query", strings.ToLower(strings.ReplaceAll(typ, "_", " ")))
		}
	}
	if class, _ := n["class"].(string); class == "FUNCTION" {
		name, _ := n["function_name"].(string)
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, InternalPrefix) || deniedFunctions[lower] {
			return refuse("the function %s is not available in Lake queries", name)
		}
	}
	for k, v := range n {
		if k == "cte_map" {
			continue
		}
		if err := c.walk(v, ctes); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func qualified(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// shapeOf records the select list of the statement's first SELECT (a set operation takes its
// column names from its left side).
func shapeOf(stmt any) *Shape {
	node, _ := stmt.(map[string]any)["node"].(map[string]any)
	for node != nil {
		if node["type"] == "SET_OPERATION_NODE" {
			node, _ = node["left"].(map[string]any)
			continue
		}
		if node["type"] == "CTE_NODE" || node["type"] == "RECURSIVE_CTE_NODE" {
			if q, ok := node["child"].(map[string]any); ok {
				node = q
				continue
			}
		}
		break
	}
	sh := &Shape{}
	if node == nil {
		return sh
	}
	list, _ := node["select_list"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		it := selectItem{}
		it.alias, _ = m["alias"].(string)
		it.class, _ = m["class"].(string)
		if names, ok := m["column_names"].([]any); ok {
			for _, n := range names {
				s, _ := n.(string)
				it.names = append(it.names, s)
			}
		}
		sh.items = append(sh.items, it)
	}
	return sh
}

// ColumnNames names the result columns as CloudTrail Lake (Trino) does: the alias if there is
// one, the last part of a column reference as written (userIdentity.principalid gives
// principalid), and _colN for any other expression, N counting from 0 over the select list.
// duck are the names DuckDB gave the columns; they stand where the select list cannot say,
// such as the columns * expands to.
func (sh *Shape) ColumnNames(duck []string) []string {
	out := append([]string(nil), duck...)
	stars := 0
	for _, it := range sh.items {
		if it.class == "STAR" || it.class == "COLUMNS" {
			stars++
		}
	}
	if stars > 1 || len(sh.items)-stars > len(duck) || stars == 0 && len(sh.items) != len(duck) {
		return out // cannot line the select list up with the result
	}
	col := 0
	for i, it := range sh.items {
		if it.class == "STAR" || it.class == "COLUMNS" {
			col += len(duck) - (len(sh.items) - 1)
			continue
		}
		switch {
		case it.alias != "":
			out[col] = it.alias
		case it.class == "COLUMN_REF" && len(it.names) > 0:
			out[col] = it.names[len(it.names)-1]
		default:
			out[col] = "_col" + strconv.Itoa(i)
		}
		col++
	}
	return out
}

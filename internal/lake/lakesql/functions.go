package lakesql

// renames maps a Trino function (lower case) to the DuckDB function or macro (see Macros) with
// Trino's meaning. Functions not listed have the same name and meaning in both.
var renames = map[string]string{
	// Maps, arrays and lambdas.
	"element_at":     "trino_element_at", // a scalar for maps and arrays (DuckDB's returns a list)
	"cardinality":    "trino_cardinality",
	"transform":      "list_transform",
	"slice":          "trino_slice",
	"array_join":     "array_to_string",
	"array_max":      "list_max",
	"array_min":      "list_min",
	"array_distinct": "list_distinct",
	"array_sort":     "list_sort",
	"array_position": "list_position",
	// JSON.
	"json_parse":          "json",
	"json_format":         "trino_json_format",
	"json_extract_scalar": "trino_json_extract_scalar",
	"json_array_get":      "trino_json_array_get",
	"json_array_contains": "trino_json_array_contains",
	"json_size":           "trino_json_size",
	"is_json_scalar":      "trino_is_json_scalar",
	// Strings.
	"replace":        "trino_replace", // Trino's two-argument form removes
	"regexp_like":    "regexp_matches",
	"regexp_replace": "trino_regexp_replace", // Trino replaces every match
	"format":         "printf",
	"split":          "string_split",
	// Dates and times.
	"date":                   "trino_date",
	"date_add":               "trino_date_add", // date_add(unit, value, timestamp)
	"date_diff":              "date_sub",       // whole units between, as Trino counts
	"from_iso8601_timestamp": "trino_from_iso8601_timestamp",
	"from_iso8601_date":      "trino_from_iso8601_date",
	"to_iso8601":             "trino_to_iso8601",
	"from_unixtime":          "trino_from_unixtime",
	"to_unixtime":            "epoch",
	"day_of_week":            "isodow",
	"dow":                    "isodow",
	"day_of_month":           "dayofmonth",
	"day_of_year":            "dayofyear",
	"doy":                    "dayofyear",
	"week_of_year":           "week",
	"year_of_week":           "isoyear",
	"yow":                    "isoyear",
	"millisecond":            "trino_millisecond",
	// Aggregates.
	"approx_distinct":   "approx_count_distinct",
	"approx_percentile": "approx_quantile",
	"arbitrary":         "any_value",
}

// castVarchar is the macro CAST(x AS VARCHAR) becomes, so that a JSON string casts to its text
// (Trino) rather than to its quoted JSON (DuckDB), and timestamps print as Trino prints them.
const castVarchar = "trino_varchar"

// Macros define, for each DuckDB connection that runs Lake SQL, the Trino functions DuckDB lacks or
// defines differently. The statements are idempotent (CREATE OR REPLACE TEMP MACRO).
var Macros = []string{
	`CREATE OR REPLACE TEMP MACRO trino_element_at(c, k) AS c[k]`,
	// to_json makes maps objects and arrays arrays, whatever their element types.
	`CREATE OR REPLACE TEMP MACRO trino_cardinality(c) AS CASE WHEN json_type(to_json(c)) = 'OBJECT' THEN len(json_keys(to_json(c))) ELSE json_array_length(to_json(c)) END`,
	`CREATE OR REPLACE TEMP MACRO trino_slice(a, s, n) AS list_slice(a, s, CASE WHEN s < 0 THEN len(a) + s + n ELSE s + n - 1 END)`,
	// Trino's JSON functions return NULL for text that is not JSON; DuckDB's raise an error.
	`CREATE OR REPLACE TEMP MACRO trino_json_extract_scalar(j, p) AS CASE WHEN NOT json_valid(j) THEN NULL WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END`,
	`CREATE OR REPLACE TEMP MACRO trino_json_format(j) AS CAST(json(j) AS VARCHAR)`,
	`CREATE OR REPLACE TEMP MACRO trino_json_array_get(j, i) AS CASE WHEN json_valid(j) THEN json_extract(j, CASE WHEN i < 0 THEN '$[#' || CAST(i AS VARCHAR) || ']' ELSE '$[' || CAST(i AS VARCHAR) || ']' END) END`,
	`CREATE OR REPLACE TEMP MACRO trino_json_array_contains(j, v) AS CASE WHEN json_valid(j) AND json_type(j) = 'ARRAY' THEN list_contains(json_extract_string(j, '$[*]'), CAST(v AS VARCHAR)) END`,
	`CREATE OR REPLACE TEMP MACRO trino_json_size(j, p) AS CASE WHEN NOT json_valid(j) THEN NULL WHEN json_type(j, p) = 'ARRAY' THEN json_array_length(j, p) WHEN json_type(j, p) = 'OBJECT' THEN len(json_keys(j, p)) ELSE 0 END`,
	`CREATE OR REPLACE TEMP MACRO trino_is_json_scalar(j) AS json_type(json(j)) NOT IN ('OBJECT', 'ARRAY')`,
	`CREATE OR REPLACE TEMP MACRO trino_replace(s, f) AS replace(s, f, ''), (s, f, r) AS replace(s, f, r)`,
	`CREATE OR REPLACE TEMP MACRO trino_regexp_replace(s, p) AS regexp_replace(s, p, '', 'g'), (s, p, r) AS regexp_replace(s, p, r, 'g')`,
	`CREATE OR REPLACE TEMP MACRO trino_date(x) AS CAST(x AS DATE)`,
	`CREATE OR REPLACE TEMP MACRO trino_date_add(unit, n, t) AS t + CAST(CAST(n AS VARCHAR) || ' ' || unit AS INTERVAL)`,
	`CREATE OR REPLACE TEMP MACRO trino_from_iso8601_timestamp(s) AS CAST(CAST(s AS TIMESTAMPTZ) AS TIMESTAMP)`,
	`CREATE OR REPLACE TEMP MACRO trino_from_iso8601_date(s) AS CAST(s AS DATE)`,
	`CREATE OR REPLACE TEMP MACRO trino_to_iso8601(t) AS strftime(CAST(t AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%gZ')`,
	`CREATE OR REPLACE TEMP MACRO trino_from_unixtime(n) AS CAST(to_timestamp(n) AS TIMESTAMP)`,
	`CREATE OR REPLACE TEMP MACRO trino_millisecond(t) AS millisecond(t) % 1000`,
	// The branch that does not apply to x's type is folded away when the macro is bound.
	`CREATE OR REPLACE TEMP MACRO ` + castVarchar + `(x) AS CASE ` +
		`WHEN typeof(x) = 'JSON' THEN CASE WHEN json_type(CAST(x AS VARCHAR)) IN ('OBJECT', 'ARRAY') THEN CAST(x AS VARCHAR) ELSE json_extract_string(CAST(x AS VARCHAR), '$') END ` +
		`WHEN typeof(x) = 'TIMESTAMP' THEN strftime(CAST(x AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%g') ` +
		`ELSE CAST(x AS VARCHAR) END`,
}

// Package lakesql turns CloudTrail Lake SQL (Trino-flavoured, as AWS users write it) into
// DuckDB SQL that cairn can run safely.
//
// Rewrite works on tokens: it resolves bare event data store IDs (which contain hyphens, so no
// SQL parser accepts them as names) to the stores' tables, maps Trino functions whose names or
// semantics differ in DuckDB to the macros in Macros, and refuses anything but one statement.
// Check then inspects DuckDB's own parse of the result (json_serialize_sql): one SELECT, reading
// only the caller's stores and its own CTEs, no table functions beyond UNNEST and ranges. The
// sandbox does not rest on this package alone: the Lake database also runs with external access
// disabled, so a file function that slipped through would still fail.
package lakesql

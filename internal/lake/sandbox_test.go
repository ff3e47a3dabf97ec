package lake

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/recorder"
)

// Every way out of the sandbox is refused at StartQuery, with a message that says why.
func TestSandbox(t *testing.T) {
	e := newEnv(t)
	mine := e.store(owner, "mine")
	theirs := e.store(Caller{Account: other, Region: region}, "theirs")
	elsewhere := e.store(Caller{Account: acct, Region: "eu-west-1"}, "elsewhere")
	tbl := mine.table()
	tests := []struct{ name, sql, want string }{
		{"read_csv", "SELECT * FROM read_csv('/etc/passwd')", "table function read_csv is not allowed"},
		{"read_text in a join", "SELECT * FROM " + mine.ID + ", read_text('/etc/passwd')", "table function read_text is not allowed"},
		{"query()", "SELECT * FROM query('SELECT * FROM lake_meta')", "table function query is not allowed"},
		{"duckdb_settings", "SELECT * FROM duckdb_settings()", "table function duckdb_settings is not allowed"},
		{"copy", "COPY (SELECT 1) TO '/tmp/x.csv'", "only SELECT"},
		{"attach", "ATTACH '/tmp/x.duckdb' AS x", "only SELECT"},
		{"install", "INSTALL httpfs", "only SELECT"},
		{"load", "LOAD httpfs", "only SELECT"},
		{"pragma", "PRAGMA version", "only SELECT"},
		{"set", "SET memory_limit = '100GB'", "only SELECT"},
		{"create", "CREATE TABLE x AS SELECT 1", "only SELECT"},
		{"delete", "DELETE FROM " + mine.ID, "only SELECT"},
		{"several statements", "SELECT 1 FROM " + mine.ID + "; DROP TABLE main." + tbl, "only one statement"},
		{"call", "CALL pragma_version()", "only SELECT"},
		{"explain analyze", "EXPLAIN ANALYZE SELECT * FROM " + mine.ID, "only SELECT"},
		{"another account's store by ID", "SELECT * FROM " + theirs.ID, "not found"},
		{"another region's store by ID", "SELECT * FROM " + elsewhere.ID, "not found"},
		{"another account's table by name", "SELECT * FROM main." + theirs.table(), "neither"},
		{"another account's table unqualified", "SELECT count(*) FROM " + mine.ID + " JOIN " + theirs.table() + " USING (eventid)", "neither"},
		{"CTE out of scope", "SELECT * FROM (WITH " + theirs.table() + " AS (SELECT 1) SELECT 1) x, " + theirs.table(), "neither"},
		{"CTE before its definition", "WITH a AS (SELECT * FROM " + theirs.table() + "), " + theirs.table() + " AS (SELECT 1) SELECT * FROM a", "neither"},
		{"internal table", "SELECT * FROM lake_meta", "neither"},
		{"catalog", "SELECT * FROM information_schema.tables", "neither"},
		{"summarize another store", "SELECT * FROM (SUMMARIZE " + theirs.table() + ")", "not allowed"},
		{"internal function", "SELECT lake_open('x', NULL) FROM " + mine.ID, "not available"},
		{"settings", "SELECT current_setting('allowed_directories') FROM " + mine.ID, "not available"},
		{"no store", "SELECT 42", "names no event data store"},
		{"syntax", "SELEC * FROM " + mine.ID, "syntax error"},
		{"unknown column", "SELECT nosuchcolumn FROM " + mine.ID, "nosuchcolumn"},
		{"unknown function", "SELECT nosuchfunction(eventname) FROM " + mine.ID, "nosuchfunction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.l.StartQuery(context.Background(), owner, tt.sql, StartOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StartQuery(%q): %v; want an error saying %q", tt.sql, err, tt.want)
			}
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("not a Lake error (an API exception): %T %v", err, err)
			}
		})
	}
	// Whatever the gate missed, DuckDB itself can touch no file.
	var access string
	if err := e.l.db.QueryRow(`SELECT current_setting('enable_external_access')::VARCHAR`).Scan(&access); err != nil || access != "false" {
		t.Fatalf("enable_external_access = %q, %v", access, err)
	}
	if _, err := e.l.db.Exec(`SELECT * FROM read_text('/etc/passwd')`); err == nil || !strings.Contains(err.Error(), "disabled by configuration") {
		t.Fatalf("read_text on the Lake database: %v", err)
	}
}

// A query past the statement timeout ends TIMED_OUT, keeping what it returned; cancelling a
// running query ends it CANCELLED; the eleventh concurrent query is refused.
func TestQueryLimits(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.QueryTimeout = 300 * time.Millisecond; c.QueryWorkers = 1 })
	s := e.store(owner, "limits")
	e.record(recorder.Scope{Account: acct}, mgmt("x1", "CreateBucket", acct, "alice", time.Now()))
	slow := "SELECT count(*) FROM " + s.ID + ", range(100000000000) r"
	r := runAsync(t, e, owner, slow)
	if !strings.HasPrefix(r.err, QueryTimedOut) || !strings.Contains(r.err, "300ms") {
		t.Fatalf("slow query: %+v", r)
	}

	ctx := context.Background()
	id, err := e.l.StartQuery(ctx, owner, slow, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, id, QueryRunning)
	// One runs, nine more wait: ten active. The eleventh is refused.
	var queued []string
	for i := 0; i < maxActiveQueries-1; i++ {
		q, err := e.l.StartQuery(ctx, owner, "SELECT eventname FROM "+s.ID, StartOptions{})
		if err != nil {
			t.Fatalf("query %d: %v", i+2, err)
		}
		queued = append(queued, q)
	}
	if _, err := e.l.StartQuery(ctx, owner, "SELECT 1 FROM "+s.ID, StartOptions{}); !errors.Is(err, ErrMaxConcurrent) {
		t.Fatalf("eleventh query: %v", err)
	}
	q, err := e.l.CancelQuery(ctx, owner, queued[0])
	if err != nil || q.Status != QueryCancelled {
		t.Fatalf("cancel queued: %+v %v", q, err)
	}
	q, err = e.l.CancelQuery(ctx, owner, id)
	if err != nil || q.Status != QueryCancelled {
		t.Fatalf("cancel running: %+v %v", q, err)
	}
	if _, err := e.l.CancelQuery(ctx, owner, id); !errors.Is(err, ErrInactiveQuery) {
		t.Fatalf("cancel twice: %v", err)
	}
	waitStatus(t, e, queued[len(queued)-1], QueryFinished)
	p, err := e.l.GetQueryResults(ctx, owner, queued[1], "", 0)
	if err != nil || len(p.Rows) != 1 || p.Rows[0][0] != "CreateBucket" {
		t.Fatalf("results: %+v %v", p, err)
	}
}

func waitStatus(t *testing.T, e *env, id, status string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		q, err := e.l.DescribeQuery(context.Background(), owner, id)
		if err != nil {
			t.Fatal(err)
		}
		if q.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s is %s, want %s", id, q.Status, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

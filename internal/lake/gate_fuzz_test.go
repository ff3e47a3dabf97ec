package lake

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/recorder"
)

// FuzzQueryGate: whatever the statement, if StartQuery's checks accept it, DuckDB's plan for it
// scans only the caller's store and table functions that read no data.
func FuzzQueryGate(f *testing.F) {
	e := newEnv(f)
	mine := e.store(owner, "mine")
	theirs := e.store(Caller{Account: other, Region: region}, "theirs")
	e.record(recorder.Scope{AnyAccount: true}, mgmt("m1", "CreateBucket", acct, "alice", time.Now()), mgmt("t1", "CreateBucket", other, "eve", time.Now()))
	for _, s := range []string{
		"SELECT * FROM " + mine.ID,
		"SELECT eventname FROM " + mine.ID + " UNION SELECT eventname FROM " + theirs.ID,
		"SELECT * FROM main." + theirs.table(),
		"SELECT * FROM read_csv('/etc/passwd')",
		"WITH x AS (SELECT * FROM " + mine.ID + ") SELECT * FROM x, " + theirs.table(),
		"SELECT * FROM (SUMMARIZE " + theirs.table() + ")",
		"SELECT * FROM " + mine.ID + ", unnest([1, 2]) u(x)",
		"SELECT (SELECT count(*) FROM " + theirs.table() + ") FROM " + mine.ID,
		"FROM " + mine.ID + " SELECT eventid",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sql string) {
		p, err := e.l.prepare(ctx, owner, sql)
		if err != nil {
			return
		}
		var plan string
		if err := e.l.db.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+p.sql).Scan(new(string), &plan); err != nil {
			return // the plan cannot be built: the query would fail the same way
		}
		var nodes []any
		if err := json.Unmarshal([]byte(plan), &nodes); err != nil {
			t.Fatalf("plan of %q: %v", sql, err)
		}
		checkPlan(t, sql, nodes, mine.table())
	})
}

func checkPlan(t *testing.T, sql string, v any, allowed string) {
	switch n := v.(type) {
	case []any:
		for _, c := range n {
			checkPlan(t, sql, c, allowed)
		}
	case map[string]any:
		if info, ok := n["extra_info"].(map[string]any); ok {
			if table, ok := info["Table"].(string); ok && !strings.HasSuffix(table, allowed) {
				t.Fatalf("%q scans table %s", sql, table)
			}
			if fn, ok := info["Function"].(string); ok {
				switch strings.ToUpper(fn) {
				case "UNNEST", "RANGE", "GENERATE_SERIES", "SEQ_SCAN":
				default:
					t.Fatalf("%q calls table function %s", sql, fn)
				}
			}
		}
		for _, c := range n {
			checkPlan(t, sql, c, allowed)
		}
	}
}

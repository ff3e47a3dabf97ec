package lake

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/recorder"
)

var update = flag.Bool("update", false, "rewrite testdata/conformance/*.want from what cairn returns (then check every change by hand)")

// placeholders are how the AWS samples name the stores they read; the conformance data set has
// a store for each role.
var placeholders = []struct{ text, store string }{
	{"config_event_data_store_ID", "config"},
	{"event_data_store_ID", "events"},
	{"$CONFIG_EDS_ID", "config"},
	{"$CLOUDTRAIL_EDS_ID", "events"},
	{"$EDS_ID", "events"},
	{"<EDS ID>", "events"},
	{"<EDS_ID>", "events"},
	{"<table>", "events"},
	{"EDS1", "events"}, {"EDS2", "creates"}, {"EDS3", "reads"},
	{"eds1", "events"}, {"eds2", "creates"},
}

// conformanceStores creates the data set the samples run on: testdata/events.ndjson in three
// stores with different selectors, testdata/config-items.json in a configuration item store.
// With kmsKey set, every store is encrypted with it.
func conformanceStores(t *testing.T, e *env, kmsKey string) map[string]*Store {
	t.Helper()
	e.kmsKey = kmsKey
	defer func() { e.kmsKey = "" }()
	stores := map[string]*Store{
		"events":  e.store(owner, "events"),
		"creates": e.store(owner, "creates", sel("Management", FieldSelector{Field: "eventName", StartsWith: []string{"Create"}})),
		"reads":   e.store(owner, "reads", sel("Management", FieldSelector{Field: "readOnly", Equals: []string{"true"}})),
		"config":  e.store(owner, "config", sel("ConfigurationItem")),
	}
	b, err := os.ReadFile("testdata/events.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		raws = append(raws, line)
	}
	f, err := os.Open("testdata/config-items.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = DecodeConfigurationItems(f, func(item []byte) error {
		rec, err := ConfigurationItemRecord(item)
		if err == nil {
			raws = append(raws, string(rec))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.record(recorder.Scope{AnyAccount: true}, raws...)
	return stores
}

// TestConformance runs every query in samples/ (AWS's Lake samples of reference/cloudtrail.md
// §5.5 and the seed scenarios' questions), unmodified but for the store IDs, through StartQuery
// and GetQueryResults, and compares the rows with testdata/conformance/*.want. Encrypted stores
// give the same answers.
func TestConformance(t *testing.T) {
	t.Run("plain", func(t *testing.T) { conformance(t, "") })
	t.Run("encrypted", func(t *testing.T) { conformance(t, "alias/conformance") })
}

func conformance(t *testing.T, kmsKey string) {
	e := newEnv(t)
	stores := conformanceStores(t, e, kmsKey)
	files, _ := fs.Glob(samplesFS, "samples/*.sql")
	if len(files) < 19 {
		t.Fatalf("found %d conformance queries", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), ".sql")
		t.Run(name, func(t *testing.T) {
			b, err := samplesFS.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sql := string(b)
			for _, p := range placeholders {
				sql = strings.ReplaceAll(sql, p.text, stores[p.store].ID)
			}
			got := render(runAsync(t, e, owner, sql), strings.Contains(strings.ToLower(sql), "order by"))
			wantFile := filepath.Join("testdata", "conformance", name+".want")
			if *update && kmsKey == "" {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("query:\n%s\ngot:\n%s\nwant:\n%s", sql, got, want)
			}
		})
	}
}

// result is what a query returned: its columns and rows, or the reason it failed.
type result struct {
	columns []string
	rows    [][]string
	err     string
}

// runAsync runs a statement as the API does: StartQuery, DescribeQuery until it ends, then
// every page of GetQueryResults.
func runAsync(t testing.TB, e *env, c Caller, sql string) result {
	t.Helper()
	ctx := context.Background()
	id, err := e.l.StartQuery(ctx, c, sql, StartOptions{})
	if err != nil {
		return result{err: err.Error()}
	}
	deadline := time.Now().Add(30 * time.Second)
	var q *Query
	for {
		q, err = e.l.DescribeQuery(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if q.terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s still %s after 30s", id, q.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if q.Status != QueryFinished {
		return result{err: q.Status + ": " + q.ErrorMessage}
	}
	r := result{columns: q.Columns, rows: [][]string{}}
	token := ""
	for {
		p, err := e.l.GetQueryResults(ctx, c, id, token, 7)
		if err != nil {
			t.Fatal(err)
		}
		r.rows = append(r.rows, p.Rows...)
		if p.NextToken == "" {
			break
		}
		token = p.NextToken
	}
	if len(r.rows) != q.ResultCount {
		t.Errorf("read %d rows, ResultCount says %d", len(r.rows), q.ResultCount)
	}
	return r
}

// render writes a result as text: columns, then rows (sorted unless the query orders them),
// cells separated by " | ".
func render(r result, ordered bool) string {
	if r.err != "" {
		return "ERROR: " + r.err + "\n"
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(r.columns, " | ") + "\n")
	rows := make([]string, len(r.rows))
	for i, row := range r.rows {
		rows[i] = strings.Join(row, " | ")
	}
	if !ordered {
		slices.Sort(rows)
	}
	for _, row := range rows {
		b.WriteString(row + "\n")
	}
	return b.String()
}

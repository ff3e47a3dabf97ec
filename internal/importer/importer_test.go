package importer

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// env is a data directory opened as cairn import opens it.
type env struct {
	t    *testing.T
	dir  string
	j    *journal.Journal
	rec  *recorder.Recorder
	db   *sql.DB
	sink Sink
}

// openEnv opens dir with a recorder whose dedup window holds window events.
func openEnv(t *testing.T, dir string, window int) *env {
	t.Helper()
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := meta.Open(context.Background(), filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(j, recorder.Options{DedupWindow: window})
	if err := rec.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, j: j, rec: rec, db: db, sink: &RecorderSink{Recorder: rec, J: j}}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.j.Close()
	e.db.Close()
}

func (e *env) run(cfg Config, paths ...string) (*Summary, error) {
	e.t.Helper()
	if cfg.Sink == nil {
		cfg.Sink = e.sink
	}
	cfg.Ledger = NewLedger(e.db, "")
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = 5 * time.Millisecond
	}
	im, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	var srcs []Source
	for _, p := range paths {
		s, err := NewLocal(p)
		if err != nil {
			e.t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	return im.Run(context.Background(), srcs)
}

// journaled returns every record in the journal with its summary, in order.
func journaled(t *testing.T, dir string) (raws [][]byte, sums []event.Summary) {
	t.Helper()
	_, err := journal.Scan(context.Background(), filepath.Join(dir, "journal"), 0, func(e journal.Entry) error {
		s, raw, err := event.OpenEnvelope(e.Data)
		if err != nil {
			return err
		}
		s.Account, s.Region, s.EventID = strings.Clone(s.Account), strings.Clone(s.Region), strings.Clone(s.EventID)
		s.Category = strings.Clone(s.Category)
		raws = append(raws, bytes.Clone(raw))
		sums = append(sums, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return raws, sums
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := logfile.WriteGzip(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testRecords(t *testing.T) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/records.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

const acct = "123456789012"

func logKey(region string, at time.Time, unique string) string {
	return logfile.LogKey("", "", acct, region, at, unique)
}

// decoded returns the records a file holds, as Decode delivers them.
func decoded(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	if err := logfile.Decode(bytes.NewReader(data), func(raw []byte) error {
		out = append(out, bytes.Clone(raw))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every eventVersion from 1.0 to 1.11, Insights records, unknown fields, empty objects and
// nulls, in every file form: all imported, each byte for byte.
func TestImportFormsAndVersions(t *testing.T) {
	recs := testRecords(t)
	tree := t.TempDir()
	at := time.Date(2024, 6, 1, 0, 5, 0, 0, time.UTC)
	files := map[string][]byte{}
	// {"Records":[…]} in one gzip member.
	files[logKey("us-east-2", at, "AAAAAAAAAAAAAAAA")] = gz(t, logfile.Marshal(recs[0:4]))
	// Two gzip members, as concatenating files gives.
	files[logKey("us-east-2", at, "BBBBBBBBBBBBBBBB")] = append(gz(t, logfile.Marshal(recs[4:5])), gz(t, logfile.Marshal(recs[5:7]))...)
	// Insights files go under CloudTrail-Insight/.
	files[logfile.InsightKey("", "", acct, "us-east-2", at, "CCCCCCCCCCCCCCCC")] = gz(t, logfile.Marshal(recs[7:8]))
	// Pretty-printed {"Records":[…]}, uncompressed: the records' own whitespace is theirs.
	var pretty bytes.Buffer
	json.Indent(&pretty, logfile.Marshal(recs[8:10]), "", "  ")
	files["loose/pretty.json"] = pretty.Bytes()
	// A JSON array, NDJSON, gzipped NDJSON.
	files["loose/array.json"] = []byte("[" + string(recs[10]) + "]")
	files["loose/one.jsonl"] = append(recs[11], '\n')
	files["loose/two.ndjson.gz"] = gz(t, append(recs[12], '\n'))
	files["loose/notes.txt"] = []byte("not a log")
	var want [][]byte
	for name, data := range files {
		writeFile(t, filepath.Join(tree, name), data)
		if strings.HasSuffix(name, ".txt") {
			continue
		}
		want = append(want, decoded(t, data)...)
	}
	if len(want) != len(recs) {
		t.Fatalf("test tree holds %d records, want %d", len(want), len(recs))
	}

	e := openEnv(t, t.TempDir(), 0)
	sum, err := e.run(Config{}, tree)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() || sum.Recorded != int64(len(recs)) || sum.FilesRead != 7 || sum.FilesIgnored != 1 {
		t.Fatalf("summary: %+v", sum)
	}
	e.close()
	got, sums := journaled(t, e.dir)
	if len(got) != len(want) {
		t.Fatalf("journal holds %d records, want %d", len(got), len(want))
	}
	sortBytes(got)
	sortBytes(want)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("record changed:\n got %s\nwant %s", got[i], want[i])
		}
	}
	insights := 0
	for _, s := range sums {
		if s.Account != acct {
			t.Errorf("record %q indexed under account %q", s.EventID, s.Account)
		}
		if s.Category == event.CategoryInsight {
			insights++
		}
	}
	if insights != 2 {
		t.Errorf("%d Insights records, want 2", insights)
	}
}

func sortBytes(b [][]byte) { slices.SortFunc(b, bytes.Compare) }

// A corrupt gzip file, a truncated file, a file that is not CloudTrail JSON and a record over
// 256 KB are each reported with the file's name and the reason; the rest imports.
func TestImportRobustness(t *testing.T) {
	tree := t.TempDir()
	g := gen.New(gen.Config{Seed: 3, Accounts: []string{acct}, Regions: []string{"us-east-2"}})
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	st, err := g.WriteTree(tree, 300, start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			keys = append(keys, p)
		}
		return nil
	})
	slices.Sort(keys)
	countIn := func(path string) int {
		b, _ := os.ReadFile(path)
		return len(decoded(t, b))
	}
	// Corrupt: flip bytes in the middle of the compressed data.
	corrupt := keys[1]
	lost := countIn(corrupt)
	b, _ := os.ReadFile(corrupt)
	for i := len(b) / 2; i < len(b)/2+8; i++ {
		b[i] ^= 0x5a
	}
	os.WriteFile(corrupt, b, 0o644)
	// Truncated: half the file.
	truncated := keys[2]
	lost += countIn(truncated)
	b, _ = os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	// Not CloudTrail: JSON of another kind.
	other := filepath.Join(tree, "exports", "inventory.json")
	writeFile(t, other, []byte(`{"Items":[{"id":1},{"id":2}],"Count":2}`))
	// A record over 256 KB between two good ones.
	recs := testRecords(t)
	huge := bytes.Replace(recs[11], []byte(`"userAgent":"aws-cli/2.15.0"`), []byte(`"userAgent":"`+strings.Repeat("x", 300<<10)+`"`), 1)
	big := filepath.Join(tree, "big", "records.json.gz")
	writeFile(t, big, gz(t, logfile.Marshal([][]byte{recs[2], huge, recs[3]})))

	e := openEnv(t, t.TempDir(), 0)
	sum, err := e.run(Config{}, tree)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum.Write(&out, VerifyOff)
	report := out.String()
	t.Log(report)
	for _, want := range []struct{ file, reason string }{
		{corrupt, "corrupt"}, {truncated, "truncated gzip stream"}, {other, "not CloudTrail JSON"},
		{big, "record 1: record is 3"}, {big, "over the 262144-byte limit"},
	} {
		i := strings.Index(report, want.file)
		if i < 0 || !strings.Contains(report[i:], want.reason) {
			t.Errorf("report lacks %s: %s", want.file, want.reason)
		}
	}
	if sum.FilesFailed != 3 || sum.Rejected != 1 || len(sum.Problems) != 4 {
		t.Errorf("failed %d, rejected %d, problems %d; want 3, 1, 4", sum.FilesFailed, sum.Rejected, len(sum.Problems))
	}
	// Everything else is there: all records of the good files, those before the fault in the
	// damaged ones, and the two good records beside the huge one.
	got, _ := journaled(t, e.dir)
	if min := st.Events - lost + 2; len(got) < min || int64(len(got)) != sum.Recorded {
		t.Errorf("journal holds %d records (summary %d), want at least %d", len(got), sum.Recorded, min)
	}
}

// A re-run reads nothing again; a changed file is read again, and only its new records
// are recorded.
func TestImportRerun(t *testing.T) {
	tree := t.TempDir()
	g := gen.New(gen.Config{Seed: 4})
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	st, err := g.WriteTree(tree, 2000, start, start.Add(6*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := openEnv(t, dir, 0)
	if sum, err := e.run(Config{}, tree); err != nil || sum.Recorded != int64(st.Events) {
		t.Fatalf("first run: %+v %v", sum, err)
	}
	sum, err := e.run(Config{}, tree)
	if err != nil || sum.FilesSkipped != st.Files || sum.FilesRead != 0 || sum.Recorded != 0 || sum.Records != 0 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	// The same tree elsewhere (moved, or copied from S3) is the same files.
	moved := filepath.Join(t.TempDir(), "copy")
	os.Rename(tree, moved)
	if sum, err := e.run(Config{}, moved); err != nil || sum.FilesSkipped != st.Files {
		t.Fatalf("moved tree: %+v %v", sum, err)
	}
	// A file that changed is read again.
	var one string
	filepath.WalkDir(moved, func(p string, d os.DirEntry, err error) error {
		if one == "" && !d.IsDir() {
			one = p
		}
		return nil
	})
	b, _ := os.ReadFile(one)
	extra := []byte(`{"eventVersion":"1.11","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","eventID":"extra-1","awsRegion":"us-east-1"}`)
	rewritten := append(decoded(t, b), extra)
	os.WriteFile(one, gz(t, logfile.Marshal(rewritten)), 0o644)
	sum, err = e.run(Config{}, moved)
	if err != nil || sum.FilesRead != 1 || sum.Recorded != 1 || sum.Duplicates != int64(len(rewritten)-1) {
		t.Fatalf("changed file: %+v %v", sum, err)
	}
}

// Filtered runs, then an unfiltered one: every event exactly once, without the dedup window's
// help, and the later run passes over what the earlier ones settled.
func TestImportFiltersThenAll(t *testing.T) {
	tree := t.TempDir()
	accounts := []string{"111111111111", "222222222222"}
	g := gen.New(gen.Config{Seed: 5, Accounts: accounts, Regions: []string{"us-east-1", "eu-west-1"}})
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	st, err := g.WriteTree(tree, 3000, start, start.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := openEnv(t, dir, 1) // a window of one event: exactness must not depend on it
	runs := []Filter{
		{Accounts: []string{"111111111111"}, Start: start.Add(6 * time.Hour)},
		{Regions: []string{"eu-west-1"}, End: start.Add(12 * time.Hour)},
		{Start: start.Add(3 * time.Hour), End: start.Add(9 * time.Hour)},
		{},
	}
	var total int64
	for i, f := range runs {
		sum, err := e.run(Config{Filter: f}, tree)
		if err != nil || !sum.OK() {
			t.Fatalf("run %d: %+v %v", i, sum, err)
		}
		total += sum.Recorded
		if i > 0 && sum.Duplicates != 0 {
			t.Errorf("run %d recorded %d duplicates", i, sum.Duplicates)
		}
	}
	if total != int64(st.Events) {
		t.Errorf("recorded %d events over the runs, want %d", total, st.Events)
	}
	e.close()
	checkExactlyOnce(t, dir, st.Events)
}

// checkExactlyOnce checks that the journal holds want events, each once.
func checkExactlyOnce(t *testing.T, dir string, want int) {
	t.Helper()
	raws, sums := journaled(t, dir)
	seen := map[string]int{}
	for _, s := range sums {
		seen[s.Account+"/"+s.EventID]++
	}
	dups := 0
	for k, n := range seen {
		if n > 1 {
			dups++
			if dups < 5 {
				t.Errorf("event %s recorded %d times", k, n)
			}
		}
	}
	if len(raws) != want || dups > 0 {
		t.Errorf("journal holds %d records, %d distinct, %d repeated; want %d", len(raws), len(seen), dups, want)
	}
}

// crashingSink stops the import after n batches as a crash would: the n-th batch reaches
// the journal, and nothing more reaches the ledger (its database is closed under it).
type crashingSink struct {
	Sink
	n    int32
	db   *sql.DB
	left atomic.Int32
}

var errCrash = errors.New("simulated crash")

func (s *crashingSink) Record(ctx context.Context, recs []*event.Record) ([]recorder.Result, error) {
	if s.left.Add(-1) < 0 {
		return nil, errCrash
	}
	res, err := s.Sink.Record(ctx, recs)
	if s.left.Load() == 0 {
		s.db.Close()
		return nil, errCrash
	}
	return res, err
}

// Crash an import at several points, then run it again: each event is in the journal
// exactly once, though the tree is many times larger than the dedup window.
func TestImportResumesExactlyAfterCrashes(t *testing.T) {
	tree := t.TempDir()
	g := gen.New(gen.Config{Seed: 6})
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	st, err := g.WriteTree(tree, 6000, start, start.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, batches := range []int32{3, 1, 5, 2, 1} {
		e := openEnv(t, dir, 10)
		sink := &crashingSink{Sink: e.sink, db: e.db}
		sink.left.Store(batches)
		sum, err := e.run(Config{Sink: sink, Workers: 2, batchRecords: 300}, tree)
		if !errors.Is(err, errCrash) && !strings.Contains(fmt.Sprint(err), "closed") {
			t.Fatalf("crash %d: err = %v", i, err)
		}
		t.Logf("run %d, crashed after %d batches: %d recorded, %d duplicates, %d settled earlier, %d files skipped; journal at %d",
			i, batches, sum.Recorded, sum.Duplicates, sum.Settled, sum.FilesSkipped, e.j.LastSeq())
		e.close()
	}
	e := openEnv(t, dir, 10)
	sum, err := e.run(Config{batchRecords: 300}, tree)
	if err != nil || !sum.OK() {
		t.Fatalf("final run: %+v %v", sum, err)
	}
	t.Logf("final run: %d recorded, %d duplicates, %d settled earlier, %d files skipped", sum.Recorded, sum.Duplicates, sum.Settled, sum.FilesSkipped)
	if mark, ok, _ := NewLedger(e.db, "").Mark(context.Background()); ok {
		t.Errorf("a completed run left the mark %d", mark)
	}
	e.close()
	checkExactlyOnce(t, dir, st.Events)
}

// A rejected record's eventID in the report is its own, not bytes of a later record that
// reused its place in the batch buffer.
func TestRejectionNamesItsEventID(t *testing.T) {
	dir := t.TempDir()
	// Outside an AWSLogs/<account>/ folder a record without recipientAccountId is rejected.
	writeFile(t, filepath.Join(dir, "loose.jsonl"), []byte(strings.Join([]string{
		`{"eventVersion":"1.08","eventID":"first-id","eventName":"A","eventSource":"s3.amazonaws.com"}`,
		`{"eventVersion":"1.08","eventID":"zzzzzzzz","eventName":"A","eventSource":"s3.amazonaws.com"}`,
		`{"eventVersion":"1.08","eventID":"kept-id","eventName":"A","eventSource":"s3.amazonaws.com","recipientAccountId":"` + acct + `"}`,
	}, "\n")))
	e := openEnv(t, t.TempDir(), 0)
	sum, err := e.run(Config{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Problems) != 1 || len(sum.Problems[0].Rejects) != 2 || sum.Recorded != 1 {
		t.Fatalf("summary %+v", sum)
	}
	for i, want := range []string{"first-id", "zzzzzzzz"} {
		if got := sum.Problems[0].Rejects[i].EventID; got != want {
			t.Errorf("rejection %d names eventID %q, want %q", i, got, want)
		}
	}
}

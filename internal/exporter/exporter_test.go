package exporter

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// testRecords are the importer's conformance records: every eventVersion, Insights, unknown
// fields, empty objects and nulls.
func testRecords(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile("../importer/testdata/records.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		out = append(out, l)
	}
	return out
}

// record journals records as an import does (byte for byte), and returns the journal's
// directory.
func record(t *testing.T, recs [][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "journal")
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := recorder.New(j, recorder.Options{})
	res, err := r.Record(context.Background(), recorder.Scope{Account: "123456789012", Region: "us-east-2", AnyAccount: true, Preserve: true}, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range res {
		if x.Status != recorder.Recorded {
			t.Fatalf("record %d: %v %v", i, x.Status, x.Err)
		}
	}
	return dir
}

func export(t *testing.T, dir string, q Query, opts Options) (string, Stats) {
	t.Helper()
	var out bytes.Buffer
	st, err := Export(context.Background(), dir, q, opts, &out)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), st
}

func TestExportTable(t *testing.T) {
	recs := testRecords(t)
	dir := record(t, recs)
	got, st := export(t, dir, Query{Attributes: eventID("v101-0000-4d6f-9d0e-000000000101")}, Options{Format: TSV, Header: true})
	want := "eventTime\tawsRegion\teventSource\teventName\tuserIdentity.userName\tsourceIPAddress\tuserAgent\trequestParameters\n" +
		"2014-07-07T19:46:33Z\tus-east-1\tiam.amazonaws.com\tCreateUser\t\t192.0.2.1\tconsole.amazonaws.com\t{\"userName\":\"Bob\"}\n"
	if got != want || st.Exported != 1 || st.Scanned != uint64(len(recs)) {
		t.Errorf("TSV:\n%s\nwant\n%s(stats %+v)", got, want, st)
	}

	// Chosen columns: nested, array elements, numbers, booleans, escapes, the record itself.
	fields := []string{"eventID", "userIdentity.sessionContext.attributes.mfaAuthenticated", "resources.1.ARN", "readOnly",
		"requestParameters.key", "additionalEventData.bytesTransferredOut", "missing.path", RecordField}
	got, _ = export(t, dir, Query{Attributes: eventID("v106-0000-4d6f-9d0e-000000000106")}, Options{Format: TSV, Fields: fields})
	cells := strings.Split(strings.TrimSuffix(got, "\n"), "\t")
	if len(cells) != len(fields) {
		t.Fatalf("%d cells: %q", len(cells), got)
	}
	// TSV escapes the backslashes of JSON escapes, as jq's @tsv does.
	wantCells := []string{"v106-0000-4d6f-9d0e-000000000106", "false", "arn:aws:s3:::b", "true", "kéy", "12.0", "", strings.ReplaceAll(string(recs[6]), `\`, `\\`)}
	for i := range wantCells {
		if cells[i] != wantCells[i] {
			t.Errorf("column %s = %q, want %q", fields[i], cells[i], wantCells[i])
		}
	}

	// CSV quotes what it must; encoding/csv reads back the values.
	got, _ = export(t, dir, Query{}, Options{Format: CSV, Header: true, Fields: []string{"eventID", "userAgent", "responseElements", RecordField}})
	rows, err := csv.NewReader(strings.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(recs)+1 || rows[0][3] != RecordField {
		t.Fatalf("%d CSV rows, header %q", len(rows), rows[0])
	}
	for i, row := range rows[1:] {
		if row[3] != string(recs[i]) {
			t.Errorf("CSV row %d: record column differs:\n%s\n%s", i, row[3], recs[i])
		}
	}
}

// eventID selects an event by ID, as --lookup-attributes AttributeKey=EventId does.
func eventID(id string) []history.Attribute {
	return []history.Attribute{{Key: history.AttrEventID, Value: id}}
}

func TestExportFilters(t *testing.T) {
	recs := testRecords(t)
	dir := record(t, recs)
	ids := func(q Query) []string {
		out, _ := export(t, dir, q, Options{Format: TSV, Fields: []string{"eventID"}})
		return strings.Fields(out)
	}
	attr := func(kv ...string) []history.Attribute {
		var a []history.Attribute
		for i := 0; i < len(kv); i += 2 {
			a = append(a, history.Attribute{Key: kv[i], Value: kv[i+1]})
		}
		return a
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"two attributes ANDed", Query{Attributes: attr("Username", "Alice", "EventSource", "s3.amazonaws.com")}, []string{"v102-0000-4d6f-9d0e-000000000102", "v104-0000-4d6f-9d0e-000000000104"}},
		{"resource name", Query{Attributes: attr("ResourceName", "b")}, []string{"v106-0000-4d6f-9d0e-000000000106"}},
		{"read-only", Query{Attributes: attr("ReadOnly", "true"), Regions: []string{"us-east-2"}, End: time.Date(2019, 12, 31, 0, 0, 0, 0, time.UTC)},
			[]string{"v103-0000-4d6f-9d0e-000000000103", "v106-0000-4d6f-9d0e-000000000106"}},
		{"time range", Query{Start: time.Date(2021, 8, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 1, 0, 0, 5, 0, time.UTC)},
			[]string{"v108-0000-4d6f-9d0e-000000000108", "v109-0000-4d6f-9d0e-000000000109"}},
		{"region", Query{Regions: []string{"us-east-1"}}, []string{"v101-0000-4d6f-9d0e-000000000101", "v108-0000-4d6f-9d0e-000000000108"}},
		{"insights", Query{Categories: []string{"insight"}}, []string{"v107-insight-start-000000000107", "v111-insight-end-000000000111"}},
		{"data events", Query{Categories: []string{"Data"}}, []string{"v106-0000-4d6f-9d0e-000000000106"}},
		{"other account", Query{Accounts: []string{"999999999999"}}, nil},
	}
	for _, tt := range tests {
		if got := ids(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, bad := range []Query{
		{Attributes: attr("Bogus", "x")}, {Accounts: []string{"12"}}, {Categories: []string{"everything"}},
		{Start: time.Now(), End: time.Now().Add(-time.Hour)},
	} {
		if _, err := Export(context.Background(), dir, bad, Options{Format: TSV}, io.Discard); err == nil {
			t.Errorf("query %+v accepted", bad)
		}
	}
	if _, err := Export(context.Background(), dir, Query{}, Options{Format: "xml"}, io.Discard); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := Export(context.Background(), dir, Query{}, Options{Format: TSV, Fields: []string{"a..b"}}, io.Discard); err == nil {
		t.Error("bad field path accepted")
	}
}

func TestExportNDJSON(t *testing.T) {
	recs := testRecords(t)
	var pretty bytes.Buffer
	json.Indent(&pretty, bytes.Replace(recs[11], []byte("v111-0000"), []byte("v111-pretty"), 1), "", "  ")
	recs = append(recs, pretty.Bytes())
	dir := record(t, recs[11:])
	got, _ := export(t, dir, Query{}, Options{Format: NDJSON})
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 || lines[0] != string(recs[11]) || lines[1] != string(recs[12]) || strings.Contains(lines[2], "\n") {
		t.Fatalf("NDJSON: %q", got)
	}
	// The pretty record is on one line, its values unchanged.
	var a, b any
	json.Unmarshal([]byte(lines[2]), &a)
	json.Unmarshal(recs[len(recs)-1], &b)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("pretty record changed: %s", lines[1])
	}
}

func TestExportParquet(t *testing.T) {
	recs := testRecords(t)
	dir := record(t, recs)
	out, _ := export(t, dir, Query{}, Options{Format: Parquet})
	f, err := parquet.OpenFile(bytes.NewReader([]byte(out)), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != int64(len(recs)) {
		t.Fatalf("%d rows, want %d", f.NumRows(), len(recs))
	}
	type row struct {
		EventTime       *time.Time `parquet:"eventTime,timestamp(millisecond)"`
		EventName       *string    `parquet:"eventName"`
		UserName        *string    `parquet:"userIdentity.userName"`
		ReadOnly        *string    `parquet:"readOnly"`
		CloudTrailEvent *string    `parquet:"CloudTrailEvent"`
	}
	rows, err := parquet.Read[row](bytes.NewReader([]byte(out)), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r.CloudTrailEvent == nil || *r.CloudTrailEvent != string(recs[i]) {
			t.Errorf("row %d: record column differs", i)
		}
		rec, _ := event.Parse(recs[i])
		if r.EventTime == nil || !r.EventTime.Equal(rec.EventTime) {
			t.Errorf("row %d: eventTime %v, want %v", i, r.EventTime, rec.EventTime)
		}
	}
	if rows[0].EventName == nil || *rows[0].EventName != "StartInstances" || rows[0].UserName == nil || *rows[0].UserName != "Alice" || rows[0].ReadOnly != nil {
		t.Errorf("row 0: %+v", rows[0])
	}
	if *rows[3].ReadOnly != "true" {
		t.Errorf("readOnly of row 3 = %q", *rows[3].ReadOnly)
	}
	if _, err := Export(context.Background(), dir, Query{}, Options{Format: Parquet, Fields: []string{"a", "a"}}, io.Discard); err == nil {
		t.Error("a column named twice was accepted")
	}
}

// readTree returns every record of a CloudTrail tree, checking each file as AWS tools would:
// a key ParseKey accepts, exactly one gzip member, {"Records":[…]}.
func readTree(t *testing.T, dir string) (recs [][]byte, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if _, err := logfile.ParseKey(filepath.ToSlash(rel)); err != nil {
			t.Errorf("%v", err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		zr.Multistream(false)
		plain, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		if rest, _ := io.ReadAll(zr); len(rest) > 0 || zr.Close() != nil {
			t.Errorf("%s: more than one gzip member", rel)
		}
		if !bytes.HasPrefix(plain, []byte(`{"Records":[`)) {
			t.Errorf("%s: not {\"Records\":[…]}", rel)
		}
		files++
		return logfile.Decode(bytes.NewReader(plain), func(raw []byte) error {
			recs = append(recs, bytes.Clone(raw))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, files
}

// Import's counterpart: a tree exported is the records recorded, each byte-identical.
func TestExportTreeRoundTrip(t *testing.T) {
	recs := testRecords(t)
	g := gen.New(gen.Config{Seed: 9})
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	g.Spread(1500, start, start.Add(6*time.Hour), func(raw []byte) error {
		recs = append(recs, bytes.Clone(raw))
		return nil
	})
	dir := record(t, recs)
	out := t.TempDir()
	_, st := export(t, dir, Query{}, Options{Format: CloudTrail, Dir: out})
	got, files := readTree(t, out)
	if files != st.Files || st.Exported != int64(len(recs)) {
		t.Errorf("stats %+v, %d files", st, files)
	}
	want := slices.Clone(recs)
	slices.SortFunc(want, bytes.Compare)
	slices.SortFunc(got, bytes.Compare)
	if len(got) != len(want) {
		t.Fatalf("tree holds %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record differs:\n got %s\nwant %s", got[i], want[i])
		}
	}
	// Exporting again writes the same files.
	export(t, dir, Query{}, Options{Format: CloudTrail, Dir: out})
	if _, again := readTree(t, out); again != files {
		t.Errorf("a second export made %d files, want the same %d", again, files)
	}
}

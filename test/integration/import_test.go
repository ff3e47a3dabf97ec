package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/logfile"
)

// treeStart and treeEnd bound the generated trees: a fixed week, so runs are repeatable.
var (
	treeStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	treeEnd   = time.Date(2026, 10, 8, 0, 0, 0, 0, time.UTC)
)

// writeTree writes a generated AWSLogs/ tree of n events of cairntest's account and region
// (and one other region) and returns its directory.
func writeTree(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	g := gen.New(gen.Config{Seed: 7, Accounts: []string{cairntest.AccountID}, Regions: []string{cairntest.Region, "eu-west-1"}})
	if _, err := g.WriteTree(dir, n, treeStart, treeEnd); err != nil {
		t.Fatal(err)
	}
	return dir
}

// treeRecords returns every record of the log files under dir, as stored, sorted.
func treeRecords(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") || strings.Contains(p, "CloudTrail-Digest") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return logfile.Decode(f, func(raw []byte) error {
			out = append(out, string(raw))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// cairn runs the cairn binary and returns its stdout; a non-zero exit fails the test unless
// wantCode says otherwise.
func cairnCmd(t *testing.T, env []string, wantCode int, args ...string) string {
	t.Helper()
	cmd := exec.Command(cairntest.Binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != wantCode {
		t.Fatalf("cairn %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, out.String(), errb.String())
	}
	return out.String()
}

// exported returns the records cairn export --format ndjson writes for a data directory, sorted.
func exported(t *testing.T, data string) []string {
	t.Helper()
	out := cairnCmd(t, nil, 0, "export", "--data", data, "--format", "ndjson", "--quiet")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		lines = nil
	}
	slices.Sort(lines)
	return lines
}

// eventIDs returns each record's eventID, failing on a record without one.
func eventIDs(t *testing.T, recs []string) []string {
	t.Helper()
	ids := make([]string, len(recs))
	for i, r := range recs {
		var e struct{ EventID string }
		if err := json.Unmarshal([]byte(r), &e); err != nil || e.EventID == "" {
			t.Fatalf("record %q: no eventID (%v)", r, err)
		}
		ids[i] = e.EventID
	}
	return ids
}

// Imported into a running server, events are found by the aws CLI's lookup-events; a second
// run skips everything and records nothing twice.
func TestImportIntoServerThenLookupEvents(t *testing.T) {
	awsCLI := cairntest.Tool(t, "aws")
	tree := writeTree(t, 3000)
	want := treeRecords(t, tree)
	s := cairntest.Start(t)
	state := filepath.Join(t.TempDir(), "imports.sqlite")
	out := cairnCmd(t, s.Env(), 0, "import", "--to", s.Endpoint, "--state", state, "--quiet", tree)
	if !strings.Contains(out, fmt.Sprintf("%s recorded", commas(len(want)))) {
		t.Fatalf("summary does not say %d recorded:\n%s", len(want), out)
	}
	again := cairnCmd(t, s.Env(), 0, "import", "--to", s.Endpoint, "--state", state, "--quiet", tree)
	if !strings.Contains(again, "0 recorded") || !strings.Contains(again, "already imported (skipped)") {
		t.Fatalf("re-run:\n%s", again)
	}
	// Through a server too, rejected records are reported under their file with the reason,
	// and the file's good record is recorded.
	badFile := filepath.Join(t.TempDir(), "mixed.jsonl")
	os.WriteFile(badFile, []byte(strings.Join([]string{
		`{"eventVersion":"1.08","eventID":"srv-good","eventTime":"2026-10-02T00:00:00Z","eventName":"A","eventSource":"s3.amazonaws.com","awsRegion":"eu-north-1","recipientAccountId":"` + cairntest.AccountID + `"}`,
		`{"eventVersion":"1.08","eventID":"srv-noname","eventTime":"2026-10-02T00:00:00Z","eventSource":"s3.amazonaws.com"}`,
		`{"eventVersion":"1.08","eventID":"srv-big","eventName":"Big","eventSource":"s3.amazonaws.com","requestParameters":{"pad":"` + strings.Repeat("x", 300<<10) + `"}}`,
	}, "\n")), 0o644)
	mixed := cairnCmd(t, s.Env(), 1, "import", "--to", s.Endpoint, "--state", state, "--quiet", badFile)
	for _, w := range []string{"1 recorded", badFile + "\n      2 of 3 records rejected", "record 1: eventName: missing", "record 2: record is", "262144-byte limit"} {
		if !strings.Contains(mixed, w) {
			t.Errorf("import of a file with bad records lacks %q:\n%s", w, mixed)
		}
	}

	// One event of the tree, by its ID, with the CLI, exactly as it was in the file.
	var rec struct {
		EventID, EventName, AWSRegion string
		EventTime                     time.Time
	}
	var source string
	for _, r := range want {
		json.Unmarshal([]byte(r), &rec)
		if rec.AWSRegion == cairntest.Region {
			source = r
			break
		}
	}
	cmd := exec.Command(awsCLI, "cloudtrail", "lookup-events", "--endpoint-url", s.Endpoint, "--region", cairntest.Region,
		"--lookup-attributes", "AttributeKey=EventId,AttributeValue="+rec.EventID,
		"--start-time", treeStart.Format(time.RFC3339), "--end-time", treeEnd.Format(time.RFC3339), "--output", "json")
	cmd.Env = s.Env()
	body, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderrOf(err))
	}
	var resp struct {
		Events []struct{ EventId, EventName, CloudTrailEvent string }
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Events) != 1 || resp.Events[0].EventName != rec.EventName || resp.Events[0].CloudTrailEvent != source {
		t.Fatalf("lookup-events by EventId %s: %s\nwant the source record %s", rec.EventID, body, source)
	}

	// All of the region's events over the week, through the SDK's paginator.
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	p := cloudtrail.NewLookupEventsPaginator(c, &cloudtrail.LookupEventsInput{StartTime: aws.Time(treeStart), EndTime: aws.Time(treeEnd), MaxResults: aws.Int32(50)})
	var got int
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got += len(page.Events)
	}
	// LookupEvents returns management events (the default category) of the caller's region.
	inRegion := 0
	for _, r := range want {
		var e struct {
			AWSRegion     string
			EventCategory string
			EventType     string
		}
		json.Unmarshal([]byte(r), &e)
		if e.AWSRegion == cairntest.Region && (e.EventCategory == "" || e.EventCategory == "Management") && e.EventType != "AwsCloudTrailInsight" {
			inRegion++
		}
	}
	if got != inRegion {
		t.Errorf("LookupEvents over the week: %d events, the tree has %d in %s", got, inRegion, cairntest.Region)
	}
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Imported offline into a data directory, events are there when cairn serve starts on it;
// a bad file is reported by name with its reason, and the rest imports.
func TestImportOfflineThenServe(t *testing.T) {
	tree := writeTree(t, 2000)
	want := treeRecords(t, tree)
	bad := filepath.Join(tree, "bad")
	writeBad := func(name string, data []byte) {
		if err := os.MkdirAll(bad, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bad, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeBad("corrupt.json.gz", []byte("\x1f\x8b\x08\x00not really gzip"))
	writeBad("other.json", []byte(`{"hello":"world"}`))
	var whole bytes.Buffer
	logfile.WriteGzip(&whole, logfile.Marshal([][]byte{
		[]byte(`{"eventVersion":"1.08","eventID":"trunc-1","eventTime":"2026-10-02T00:00:00Z","eventName":"A","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"` + cairntest.AccountID + `"}`),
		[]byte(`{"eventVersion":"1.08","eventID":"trunc-2","eventTime":"2026-10-02T00:00:00Z","eventName":"B","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"` + cairntest.AccountID + `"}`)}))
	writeBad("truncated.json.gz", whole.Bytes()[:whole.Len()-12])
	big := fmt.Sprintf(`{"Records":[{"eventVersion":"1.08","eventID":"big-1","eventTime":"2026-10-02T00:00:00Z","eventName":"Big","eventSource":"s3.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"%s","requestParameters":{"pad":"%s"}}]}`,
		cairntest.AccountID, strings.Repeat("x", 300<<10))
	writeBad("big.json", []byte(big))

	s := cairntest.New(t)
	out := cairnCmd(t, nil, 1, "import", "--data", s.Data, "--quiet", tree)
	for _, w := range []string{
		fmt.Sprintf("%s recorded", commas(len(want)+2)), // and the truncated file's records before the cut
		filepath.Join(bad, "corrupt.json.gz"), filepath.Join(bad, "other.json"), filepath.Join(bad, "big.json"), filepath.Join(bad, "truncated.json.gz"),
		"262144-byte limit",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	t.Logf("summary:\n%s", out)
	s.Restart()
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	var rec struct{ EventID, AWSRegion string }
	for _, r := range want {
		json.Unmarshal([]byte(r), &rec)
		if rec.AWSRegion == cairntest.Region {
			break
		}
	}
	res, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{StartTime: aws.Time(treeStart), EndTime: aws.Time(treeEnd),
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventId, AttributeValue: aws.String(rec.EventID)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 {
		t.Fatalf("LookupEvents by EventId %s after serve: %d events", rec.EventID, len(res.Events))
	}
}

// An import killed midway and run again holds each event exactly once.
func TestImportResumesAfterKill(t *testing.T) {
	tree := writeTree(t, 60000)
	want := treeRecords(t, tree)
	data := t.TempDir()
	cmd := exec.Command(cairntest.Binary(t), "import", "--data", data, "--quiet", "--parallel", "2", tree)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once part of the tree is journaled.
	journal := filepath.Join(data, "journal")
	cairntest.WaitFor(t, 60*time.Second, "the import to journal something", func() bool {
		var size int64
		filepath.WalkDir(journal, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wal") {
				if fi, err := d.Info(); err == nil {
					size += fi.Size()
				}
			}
			return nil
		})
		return size > 4<<20
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if strings.Contains(out.String(), "imported ") {
		t.Fatalf("the import finished before it was killed; make the tree larger:\n%s", out.String())
	}
	partial := len(exported(t, data))
	if partial == 0 || partial >= len(want) {
		t.Fatalf("killed run recorded %d of %d events: not midway", partial, len(want))
	}
	summary := cairnCmd(t, nil, 0, "import", "--data", data, "--quiet", tree)
	got := exported(t, data)
	if len(got) != len(want) {
		t.Fatalf("after the re-run: %d events, want %d\n%s", len(got), len(want), summary)
	}
	ids := eventIDs(t, got)
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(want) {
		t.Fatal("an event is recorded twice")
	}
	if !slices.Equal(got, want) {
		t.Fatal("the records differ from the tree's")
	}
	t.Logf("killed after %d of %d events; the re-run:\n%s", partial, len(want), summary)
}

// Import a tree, export it as a CloudTrail tree, import that: every record is byte-identical
// to its source, and the export tree is in AWS's key layout.
func TestExportRoundTrip(t *testing.T) {
	tree := writeTree(t, 5000)
	want := treeRecords(t, tree)
	first := t.TempDir()
	cairnCmd(t, nil, 0, "import", "--data", first, "--quiet", tree)
	if got := exported(t, first); !slices.Equal(got, want) {
		t.Fatalf("first import: %d records, want the tree's %d byte for byte", len(got), len(want))
	}
	out := filepath.Join(t.TempDir(), "export")
	cairnCmd(t, nil, 0, "export", "--data", first, "--format", "cloudtrail", "--out", out, "--quiet")
	files := 0
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			if _, err := logfile.ParseKey(filepath.ToSlash(rel)); err != nil {
				t.Errorf("exported file %s: %v", rel, err)
			}
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatal("export wrote no files")
	}
	if got := treeRecords(t, out); !slices.Equal(got, want) {
		t.Fatalf("the exported tree holds %d records, want the source's %d byte for byte", len(got), len(want))
	}
	second := t.TempDir()
	cairnCmd(t, nil, 0, "import", "--data", second, "--quiet", out)
	if got := exported(t, second); !slices.Equal(got, want) {
		t.Fatalf("re-import of the export: %d records, want %d byte for byte", len(got), len(want))
	}

	// TSV with the default columns, filtered by an attribute: one line per matching event.
	tsv := cairnCmd(t, nil, 0, "export", "--data", second, "--format", "tsv", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ConsoleLogin", "--quiet")
	sc := bufio.NewScanner(strings.NewReader(tsv))
	sc.Scan()
	if sc.Text() != "eventTime\tawsRegion\teventSource\teventName\tuserIdentity.userName\tsourceIPAddress\tuserAgent\trequestParameters" {
		t.Errorf("TSV header %q", sc.Text())
	}
	n := 0
	for sc.Scan() {
		if strings.Split(sc.Text(), "\t")[3] != "ConsoleLogin" {
			t.Errorf("line %q is not a ConsoleLogin", sc.Text())
		}
		n++
	}
	logins := 0
	for _, r := range want {
		if strings.Contains(r, `"eventName":"ConsoleLogin"`) {
			logins++
		}
	}
	if n != logins {
		t.Errorf("TSV: %d ConsoleLogin lines, the tree has %d", n, logins)
	}
}

// A trail delivered to S3 (versitygw) by cairn imports from s3://, its digests verified with
// the public keys aws cloudtrail list-public-keys returns; a tampered log file, a removed one
// and a tampered digest are each reported, and the import still records every event it can.
func TestImportFromS3VerifiesDigests(t *testing.T) {
	tr := newTrailOnS3(t)
	ctx := context.Background()
	keys, err := cloudtrail.NewFromConfig(tr.cairn.AWSConfig()).ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "keys.json")
	kb, _ := json.Marshal(keys)
	if err := os.WriteFile(keyFile, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_ACCESS_KEY_ID=" + cairntest.S3AccessKey, "AWS_SECRET_ACCESS_KEY=" + cairntest.S3SecretKey,
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3=" + tr.s3.Endpoint, "AWS_ENDPOINT_URL=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	src := "s3://" + tr.bucket + "/audit/AWSLogs/"
	logs, digests := tr.keys(t, logfile.Log), tr.keys(t, logfile.Digest)
	if len(logs) < 3 || len(digests) < 3 {
		t.Fatalf("the trail delivered %d log files and %d digests", len(logs), len(digests))
	}

	out := cairnCmd(t, env, 0, "import", "--data", t.TempDir(), "--verify=full", "--public-key", keyFile, "--quiet", src)
	if !strings.Contains(out, fmt.Sprintf("%d verified, 0 tampered, 0 missing, 0 missing from the chain", len(logs))) {
		t.Fatalf("intact trail:\n%s", out)
	}
	// Without the keys, full verification cannot check signatures, and says so.
	out = cairnCmd(t, env, 1, "import", "--data", t.TempDir(), "--verify=full", "--quiet", src)
	if !strings.Contains(out, "no public key with fingerprint") {
		t.Fatalf("no keys:\n%s", out)
	}
	// A cairn-made tree imported into the data directory of the cairn that made it: its own
	// signing keys verify the signatures, no --public-key needed.
	tr.cairn.Stop()
	out = cairnCmd(t, env, 0, "import", "--data", tr.cairn.Data, "--verify=full", "--quiet", src)
	if !strings.Contains(out, fmt.Sprintf("%d verified, 0 tampered, 0 missing, 0 missing from the chain", len(logs))) {
		t.Fatalf("cairn's own keys:\n%s", out)
	}

	// Tamper: one log file's content, one log file removed, one digest's content.
	body, _ := tr.get(t, logs[0])
	tr.put(t, logs[0], regzip(t, body, func(b []byte) []byte { return bytes.Replace(b, []byte("RunInstances"), []byte("RunInstancez"), 1) }), nil)
	tr.del(t, logs[1])
	dbody, dmeta := tr.get(t, digests[0])
	tr.put(t, digests[0], regzip(t, dbody, func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"awsAccountId":"`), []byte(`"awsAccountId":"9`), 1)
	}), dmeta)

	data := t.TempDir()
	out = cairnCmd(t, env, 1, "import", "--data", data, "--verify=full", "--public-key", keyFile, "--quiet", src)
	for _, w := range []string{
		"s3://" + tr.bucket + "/" + logs[0] + ": tampered: its SHA-256 is",
		"s3://" + tr.bucket + "/" + logs[1] + ": missing: ",
		"s3://" + tr.bucket + "/" + digests[0] + "\n      verification failed: digest: signature verification failed",
		fmt.Sprintf("%d verified, 1 tampered, 1 missing", len(logs)-2),
	} {
		if !strings.Contains(out, w) {
			t.Errorf("tampered trail: the summary lacks %q:\n%s", w, out)
		}
	}
	t.Logf("tampered trail:\n%s", out)
	// The tampered file's events are imported all the same: verification reports, it does
	// not drop.
	if got := exported(t, data); !slices.ContainsFunc(got, func(r string) bool { return strings.Contains(r, "RunInstancez") }) {
		t.Errorf("the tampered file's events were not imported")
	}
}

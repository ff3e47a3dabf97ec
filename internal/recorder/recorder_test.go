package recorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newRecorder(t *testing.T, dir string) (*Recorder, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := New(j, Options{Now: func() time.Time { return now }})
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, j
}

// journaled returns the raw record of the journal's first envelope.
func journaled(t *testing.T, j *journal.Journal) []byte {
	t.Helper()
	e, err := j.Cursor(0).TryNext(1, 1<<20)
	if err != nil || len(e) == 0 {
		t.Fatalf("journal: %v", err)
	}
	_, raw, err := event.OpenEnvelope(e[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), raw...)
}

func raws(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func statuses(res []Result) string {
	var b []string
	for _, r := range res {
		b = append(b, r.Status.String())
	}
	return strings.Join(b, ",")
}

var scope = Scope{Account: "111122223333", Region: "eu-west-1"}

func TestStampsMissingFields(t *testing.T) {
	r, j := newRecorder(t, t.TempDir())
	res, err := r.Record(context.Background(), scope, raws(`{"eventName":"A","eventSource":"b.amazonaws.com"}`))
	if err != nil || res[0].Status != Recorded || res[0].Seq != 1 || res[0].EventID == "" {
		t.Fatalf("%+v %v", res, err)
	}
	rec, err := event.Parse(journaled(t, j))
	if err != nil {
		t.Fatal(err)
	}
	if rec.RecipientAccountID != "111122223333" || rec.AWSRegion != "eu-west-1" || rec.EventTimeText != "2026-11-22T10:00:00Z" || rec.EventID != res[0].EventID {
		t.Errorf("stamped %s", rec.Raw)
	}
	if !strings.HasPrefix(string(rec.Raw), `{"eventName":"A","eventSource":"b.amazonaws.com",`) {
		t.Errorf("producer bytes changed: %s", rec.Raw)
	}
}

func TestKeepsProducerFields(t *testing.T) {
	r, j := newRecorder(t, t.TempDir())
	in := `{"eventName":"A", "eventSource":"b", "eventID":"x-1","eventTime":"2019-01-01T00:00:00Z","awsRegion":"us-west-2","recipientAccountId":"111122223333","unknown":[1]}`
	if _, err := r.Record(context.Background(), scope, raws(in)); err != nil {
		t.Fatal(err)
	}
	if got := string(journaled(t, j)); got != in {
		t.Errorf("got %s", got)
	}
}

func TestDeduplicates(t *testing.T) {
	dir := t.TempDir()
	r, j := newRecorder(t, dir)
	ctx := context.Background()
	a := `{"eventName":"A","eventSource":"b","eventID":"id-a"}`
	b := `{"eventName":"A","eventSource":"b","eventID":"id-b"}`
	res, err := r.Record(ctx, scope, raws(a, b, a))
	if err != nil || statuses(res) != "recorded,recorded,duplicate" {
		t.Fatalf("first batch: %s %v", statuses(res), err)
	}
	// A client retrying the whole batch creates nothing new.
	res, _ = r.Record(ctx, scope, raws(a, b, `{"eventName":"A","eventSource":"b","eventID":"id-c"}`))
	if statuses(res) != "duplicate,duplicate,recorded" {
		t.Fatalf("retry: %s", statuses(res))
	}
	// The same eventID in another account is another event.
	res, _ = r.Record(ctx, Scope{AnyAccount: true}, raws(`{"eventName":"A","eventSource":"b","eventID":"id-a","recipientAccountId":"444455556666"}`))
	if statuses(res) != "recorded" {
		t.Fatalf("other account: %s", statuses(res))
	}
	// After a restart, the window is rebuilt from the journal.
	j.Close()
	r2, j2 := newRecorder(t, dir)
	res, _ = r2.Record(ctx, scope, raws(a, b))
	if statuses(res) != "duplicate,duplicate" {
		t.Fatalf("after restart: %s", statuses(res))
	}
	if j2.LastSeq() != 4 {
		t.Errorf("journal holds %d records, want 4", j2.LastSeq())
	}
}

func TestDedupWindowEvicts(t *testing.T) {
	j, err := journal.Open(t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r := New(j, Options{DedupWindow: 2})
	ctx := context.Background()
	for _, id := range []string{"1", "2", "3"} {
		r.Record(ctx, scope, raws(fmt.Sprintf(`{"eventName":"A","eventSource":"b","eventID":"%s"}`, id)))
	}
	res, _ := r.Record(ctx, scope, raws(`{"eventName":"A","eventSource":"b","eventID":"1"}`, `{"eventName":"A","eventSource":"b","eventID":"3"}`))
	if statuses(res) != "recorded,duplicate" {
		t.Errorf("got %s: the oldest ID should have left the window", statuses(res))
	}
}

func TestRejectsWithReasonAndRecordsTheRest(t *testing.T) {
	r, j := newRecorder(t, t.TempDir())
	res, err := r.Record(context.Background(), scope, raws(
		`{"eventName":"A","eventSource":"b"}`,
		`{"eventSource":"b"}`,
		`not json`,
		`{"eventName":"A","eventSource":"b","recipientAccountId":"444455556666"}`,
		`{"eventName":"B","eventSource":"b"}`,
	))
	if err != nil || statuses(res) != "recorded,rejected,rejected,rejected,recorded" {
		t.Fatalf("%s %v", statuses(res), err)
	}
	for i, want := range map[int]string{1: "eventName: missing", 2: "not a JSON object", 3: "not the caller's account"} {
		if !strings.Contains(res[i].Err.Error(), want) || !IsRejection(res[i].Err) {
			t.Errorf("record %d: %v, want %q", i, res[i].Err, want)
		}
	}
	if j.LastSeq() != 2 {
		t.Errorf("journal holds %d", j.LastSeq())
	}
}

type failingJournal struct{ *journal.Journal }

func (failingJournal) Append(context.Context, [][]byte) (uint64, error) {
	return 0, errors.New("disk full")
}

// A failed append forgets the reservations, so the client's retry is recorded.
func TestFailedAppendIsRetryable(t *testing.T) {
	j, err := journal.Open(t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ev := raws(`{"eventName":"A","eventSource":"b","eventID":"x"}`)
	r := New(failingJournal{j}, Options{})
	if _, err := r.Record(context.Background(), scope, ev); err == nil {
		t.Fatal("append failure not reported")
	}
	r.j = j
	if res, err := r.Record(context.Background(), scope, ev); err != nil || statuses(res) != "recorded" {
		t.Fatalf("retry: %s %v", statuses(res), err)
	}
}

func TestAuditRecord(t *testing.T) {
	c := Call{Time: now, Identity: &event.UserIdentity{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333"},
		Account: "111122223333", Region: "us-east-1", Source: "cloudtrail.amazonaws.com", Name: "LookupEvents", ReadOnly: true,
		SourceIP: "127.0.0.1", UserAgent: "aws-cli/1.45.11", RequestParameters: json.RawMessage(`{"maxResults":5}`),
		ErrorCode: "InvalidMaxResultsException", ErrorMessage: "bad", RequestID: "req-1"}
	rec, err := event.Parse(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if rec.EventName != "LookupEvents" || rec.ReadOnly == nil || !*rec.ReadOnly || rec.Category() != event.CategoryManagement ||
		rec.ErrorCode != "InvalidMaxResultsException" || rec.UserIdentity.Type != "Root" || string(rec.ResponseElements) != "null" {
		t.Errorf("audit record %s", rec.Raw)
	}
	if !strings.Contains(string(rec.Raw), `"responseElements":null`) {
		t.Errorf("responseElements omitted: %s", rec.Raw)
	}
	if got := truncate(strings.Repeat("é", 600), 1024); len(got) != 1024 {
		t.Errorf("truncate: %d bytes", len(got))
	}
}

func BenchmarkRecord(b *testing.B) {
	j, err := journal.Open(b.TempDir(), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	r := New(j, Options{})
	batch := make([][]byte, 1000)
	pad := strings.Repeat("x", 1200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range batch {
			batch[k] = []byte(fmt.Sprintf(`{"eventVersion":"1.11","eventName":"A","eventSource":"b","eventID":"%d-%d","pad":"%s"}`, i, k, pad))
		}
		if _, err := r.Record(context.Background(), scope, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// Imports keep records byte for byte: what a record lacks is indexed from the scope, never
// written into it, and a record without an eventID is deduplicated by its bytes, also after a
// restart.
func TestPreserve(t *testing.T) {
	dir := t.TempDir()
	r, j := newRecorder(t, dir)
	ctx := context.Background()
	old := `{"eventVersion":"1.0","eventName":"A","eventSource":"b", "x" : {} }` // no eventID, eventTime, account or region
	preserve := Scope{Account: "444455556666", Region: "sa-east-1", AnyAccount: true, Preserve: true}
	rec, err := event.Parse([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RecordParsed(ctx, preserve, []*event.Record{rec})
	if err != nil || statuses(res) != "recorded" {
		t.Fatalf("%+v %v", res, err)
	}
	e, err := j.Cursor(0).TryNext(1, 1<<20)
	if err != nil || len(e) != 1 {
		t.Fatal(err)
	}
	sum, raw, err := event.OpenEnvelope(e[0].Data)
	if err != nil || string(raw) != old {
		t.Fatalf("journaled %q, %v; want the bytes unchanged", raw, err)
	}
	if sum.Account != "444455556666" || sum.Region != "sa-east-1" || sum.EventID != "" || !sum.EventTime.IsZero() {
		t.Errorf("summary %+v", sum)
	}
	again, _ := r.Record(ctx, preserve, raws(old, strings.Replace(old, `"x" : {}`, `"x":{}`, 1)))
	if statuses(again) != "duplicate,recorded" {
		t.Fatalf("same bytes again: %s", statuses(again))
	}
	j.Close()
	r2, _ := newRecorder(t, dir)
	if res, _ := r2.Record(ctx, preserve, raws(old)); statuses(res) != "duplicate" {
		t.Fatalf("after restart: %s", statuses(res))
	}
	// Without an account anywhere, a record is still rejected, naming the field.
	res, _ = r2.Record(ctx, Scope{Preserve: true, AnyAccount: true}, raws(old))
	if res[0].Status != Rejected || !strings.Contains(res[0].Err.Error(), "recipientAccountId") {
		t.Fatalf("no account: %+v", res[0])
	}
}

// Under Preserve, records of every shape AWS has written are journaled byte for byte, and
// what they lack is indexed from the scope; without Preserve the same records get stamped.
func TestPreserveTable(t *testing.T) {
	tests := []struct {
		name, raw       string
		account, region string // indexed under
		stamped         []string
	}{
		{"1.01 with everything", `{"eventVersion":"1.01","eventID":"e1","eventTime":"2014-01-01T00:00:00Z","eventName":"A","eventSource":"s","recipientAccountId":"123456789012","awsRegion":"us-east-1"}`,
			"123456789012", "us-east-1", nil},
		{"1.11, unknown fields, nulls and empty objects", `{"eventVersion":"1.11","eventID":"e2","eventTime":"2026-01-01T00:00:00Z","eventName":"A","eventSource":"s","recipientAccountId":"123456789012","awsRegion":"us-east-1","requestParameters":null,"responseElements":{},"futureField":{"a":[1,{}]}}`,
			"123456789012", "us-east-1", nil},
		{"no account or region", `{"eventVersion":"1.02","eventID":"e3","eventTime":"2015-01-01T00:00:00Z","eventName":"A","eventSource":"s"}`,
			"444455556666", "sa-east-1", []string{"recipientAccountId", "awsRegion"}},
		{"no eventID or eventTime", `{"eventVersion":"1.0","eventName":"A","eventSource":"s","recipientAccountId":"123456789012","awsRegion":"us-east-1"}`,
			"123456789012", "us-east-1", []string{"eventID", "eventTime"}},
	}
	for _, tc := range tests {
		for _, preserve := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/preserve=%v", tc.name, preserve), func(t *testing.T) {
				r, j := newRecorder(t, t.TempDir())
				rec, err := event.Parse([]byte(tc.raw))
				if err != nil {
					t.Fatal(err)
				}
				s := Scope{Account: "444455556666", Region: "sa-east-1", AnyAccount: true, Preserve: preserve}
				res, err := r.RecordParsed(context.Background(), s, []*event.Record{rec})
				if err != nil || statuses(res) != "recorded" {
					t.Fatalf("%+v %v", res, err)
				}
				e, err := j.Cursor(0).TryNext(1, 1<<20)
				if err != nil || len(e) != 1 {
					t.Fatal(err)
				}
				sum, raw, err := event.OpenEnvelope(e[0].Data)
				if err != nil {
					t.Fatal(err)
				}
				if sum.Account != tc.account || sum.Region != tc.region {
					t.Errorf("indexed under %s %s, want %s %s", sum.Account, sum.Region, tc.account, tc.region)
				}
				if preserve && string(raw) != tc.raw {
					t.Errorf("journaled %s\nwant the bytes unchanged", raw)
				}
				if !preserve {
					var m map[string]json.RawMessage
					if err := json.Unmarshal(raw, &m); err != nil {
						t.Fatal(err)
					}
					for _, f := range tc.stamped {
						if _, ok := m[f]; !ok {
							t.Errorf("%s not stamped: %s", f, raw)
						}
					}
				}
			})
		}
	}
}

// Key tells events apart by account and eventID, and records without an eventID by bytes.
func TestKey(t *testing.T) {
	a := Key("111122223333", "e1", []byte(`{"a":1}`))
	cases := []struct {
		name string
		k    DedupKey
		same bool
	}{
		{"same account and eventID, other bytes", Key("111122223333", "e1", []byte(`{"a":2}`)), true},
		{"other account", Key("111122223334", "e1", []byte(`{"a":1}`)), false},
		{"other eventID", Key("111122223333", "e2", []byte(`{"a":1}`)), false},
		{"no eventID: by bytes", Key("111122223333", "", []byte(`{"a":1}`)), false},
	}
	for _, c := range cases {
		if (c.k == a) != c.same {
			t.Errorf("%s: same = %v, want %v", c.name, c.k == a, c.same)
		}
	}
	if Key("111122223333", "", []byte(`{"a":1}`)) != Key("111122223333", "", []byte(`{"a":1}`)) {
		t.Error("the same bytes without eventID give different keys")
	}
	if Key("111122223333", "", []byte(`{"a":1}`)) == Key("111122223333", "", []byte(`{"a":1} `)) {
		t.Error("different bytes without eventID give the same key")
	}
	// An eventID cannot pose as the bytes of an ID-less record.
	if Key("1", "x", nil) == Key("1", "", []byte("x")) {
		t.Error("eventID x and the bytes x collide")
	}
}

// Stopping the auditor records every queued call, whichever of the queue and the cancellation
// its loop sees first: a batch flushed as the context ends is not lost with it.
func TestAuditorRecordsQueuedCallsAtStop(t *testing.T) {
	for round := 0; round < 20; round++ {
		r, j := newRecorder(t, t.TempDir())
		a := NewAuditor(r)
		const calls = 50
		for i := 0; i < calls; i++ {
			a.Audit(context.Background(), Call{Time: now, Account: "111122223333", Region: "us-east-1",
				Source: "cloudtrail.amazonaws.com", Name: "LookupEvents", RequestID: fmt.Sprint(i)})
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		a.Run(ctx)
		got, err := j.Cursor(0).TryNext(2*calls, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != calls {
			t.Fatalf("round %d: %d of %d queued calls recorded", round, len(got), calls)
		}
	}
}

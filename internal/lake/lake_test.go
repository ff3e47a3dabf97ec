package lake

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/recorder"
)

const (
	acct   = "111122223333"
	other  = "444455556666"
	region = "us-east-1"
)

var owner = Caller{Account: acct, Region: region, Operator: true}

// env is a Lake over a real journal, recorder and control-plane database, ingesting in the
// background.
type env struct {
	t      testing.TB
	l      *Lake
	j      *journal.Journal
	rec    *recorder.Recorder
	dir    string
	kmsKey string // stores created by store() are encrypted with it
	stop   func()
}

func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	return openEnv(t, t.TempDir(), opts...)
}

// reopen opens the Lake of a stopped env again.
func reopen(t testing.TB, dir string) *env { return openEnv(t, dir) }

func openEnv(t testing.TB, dir string, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	m, err := meta.Open(ctx, filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	master, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		master = make([]byte, 32)
		rand.Read(master)
		os.WriteFile(filepath.Join(dir, "master.key"), master, 0o600)
	}
	keys, err := OpenKeyring(filepath.Join(dir, "keys", "lake"), master)
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder.New(j, recorder.Options{})
	cfg := Config{Path: filepath.Join(dir, "lake.duckdb"), Meta: m, Journal: j, Keys: keys, Recorder: rec, MemoryLimit: "512MB",
		Options: Options{FlushInterval: 20 * time.Millisecond}}
	for _, o := range opts {
		o(&cfg)
	}
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	e := &env{t: t, l: l, j: j, rec: rec, dir: dir}
	e.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("lake run: %v", err)
		}
		l.Close()
		j.Close()
		m.Close()
	}
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
	})
	return e
}

// record records events and waits until the stores hold them.
func (e *env) record(scope recorder.Scope, raws ...string) {
	e.t.Helper()
	var bs [][]byte
	for _, r := range raws {
		bs = append(bs, []byte(r))
	}
	res, err := e.rec.Record(context.Background(), scope, bs)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != recorder.Recorded {
			e.t.Fatalf("event %d: %v %v", i, r.Status, r.Err)
		}
	}
	e.sync()
}

func (e *env) sync() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.l.Wait(ctx, e.j.LastSeq()); err != nil {
		e.t.Fatal(err)
	}
}

// query runs a statement at once and returns its rows, the first row being the column names.
func (e *env) query(c Caller, sql string) ([][]string, error) {
	var rows [][]string
	cols, err := e.l.Execute(context.Background(), c, sql, func(_, row []string) error {
		rows = append(rows, row)
		return nil
	})
	return append([][]string{cols}, rows...), err
}

func (e *env) mustQuery(c Caller, sql string) [][]string {
	e.t.Helper()
	rows, err := e.query(c, sql)
	if err != nil {
		e.t.Fatalf("%s\n%v", sql, err)
	}
	return rows
}

func (e *env) store(c Caller, name string, sels ...Selector) *Store {
	e.t.Helper()
	ten := 3653 // sample data is from 2023
	in := CreateInput{Name: name, Selectors: sels, RetentionDays: &ten, KmsKeyID: e.kmsKey}
	if len(sels) > 0 && kindOf(sels[0].FieldSelectors[0].Equals[0]) == KindActivity {
		f := false
		in.MultiRegion = &f
	}
	s, err := e.l.CreateStore(context.Background(), c, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func sel(category string, more ...FieldSelector) Selector {
	return Selector{FieldSelectors: append([]FieldSelector{{Field: "eventCategory", Equals: []string{category}}}, more...)}
}

func mgmt(id, name, account, user string, at time.Time) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA%[4]s","arn":"arn:aws:iam::%[3]s:user/%[4]s","accountId":"%[3]s","accessKeyId":"AKIA%[4]s","userName":"%[4]s"},`+
		`"eventTime":"%[5]s","eventSource":"s3.amazonaws.com","eventName":"%[2]s","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","userAgent":"aws-cli/2",`+
		`"requestParameters":{"bucketName":"bucket-%[1]s","Host":"s3.amazonaws.com"},"responseElements":null,"requestID":"r-%[1]s","eventID":"%[1]s",`+
		`"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%[3]s","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.2"}}`,
		id, name, account, user, at.UTC().Format(time.RFC3339))
}

func TestCreateStoreIngestAndQuery(t *testing.T) {
	e := newEnv(t)
	s := e.store(owner, "all-mgmt")
	at := time.Date(2023, 1, 22, 10, 0, 0, 0, time.UTC)
	e.record(recorder.Scope{AnyAccount: true},
		mgmt("e1", "CreateBucket", acct, "alice", at),
		mgmt("e2", "ListBuckets", acct, "bob", at.Add(time.Hour)),
		mgmt("e3", "CreateBucket", other, "carol", at), // another account: not in the store
	)
	rows := e.mustQuery(owner, fmt.Sprintf(`SELECT userIdentity.principalid, eventName, eventTime FROM %s WHERE eventTime > '2023-01-22 00:00:00' ORDER BY eventTime`, s.ID))
	want := [][]string{{"principalid", "eventName", "eventTime"}, {"AIDAalice", "CreateBucket", "2023-01-22 10:00:00.000"}, {"AIDAbob", "ListBuckets", "2023-01-22 11:00:00.000"}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", rows, want)
	}
	rows = e.mustQuery(owner, fmt.Sprintf(`SELECT element_at(requestParameters, 'bucketName'), requestParameters, tlsDetails FROM %s WHERE eventid = 'e1'`, strings.ToUpper(s.ID)))
	if got := fmt.Sprint(rows); got != "[[_col0 requestParameters tlsDetails] [bucket-e1 {bucketName=bucket-e1, Host=s3.amazonaws.com} {tlsversion=TLSv1.2, ciphersuite=null, clientprovidedhostheader=null}]]" {
		t.Fatalf("got %s", got)
	}
}

package trail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/objstore"
	"github.com/cairn-dev/cairn/internal/objstore/local"
	"github.com/cairn-dev/cairn/internal/recorder"
)

const acct = "111122223333"

type fixture struct {
	t       testing.TB
	dir     string
	j       *journal.Journal
	store   *Store
	objects *local.Store
	keys    *integrity.Keyring
	rec     *recorder.Recorder
	d       *Deliverer
	clock   time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := meta.Open(ctx, filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	accounts, err := iam.NewStore(db, filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.CreateAccount(ctx, acct, "", true); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	objects, err := local.New(filepath.Join(dir, "objects"), filepath.Join(dir, "objects-cold"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := integrity.OpenKeyring(filepath.Join(dir, "keys", "digest"), 0)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, j: j, store: NewStore(db, Limits{}), objects: objects, keys: keys, rec: recorder.New(j, recorder.Options{}),
		clock: time.Now().UTC().Truncate(time.Second)}
	f.d = NewDeliverer(j, f.store, objects, keys, DeliveryOptions{Interval: time.Second, DigestInterval: 10 * time.Second, Now: func() time.Time { return f.clock }})
	return f
}

func (f *fixture) record(n int, region, name string) {
	f.t.Helper()
	var raws [][]byte
	for i := 0; i < n; i++ {
		raws = append(raws, []byte(fmt.Sprintf(`{"eventVersion":"1.11","eventTime":"%s","eventSource":"ec2.amazonaws.com","eventName":"%s","awsRegion":"%s","sourceIPAddress":"1.2.3.4","requestParameters":null,"responseElements":null,"eventID":"%s-%d-%d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`,
			f.clock.Format(time.RFC3339), name, region, name, f.j.LastSeq(), i, acct)))
	}
	res, err := f.rec.Record(context.Background(), recorder.Scope{AnyAccount: true}, raws)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != recorder.Recorded {
			f.t.Fatalf("record: %v %v", r.Status, r.Err)
		}
	}
}

func (f *fixture) createTrail(name string, multi bool) *Trail {
	f.t.Helper()
	ctx := context.Background()
	tr := &Trail{Name: name, Account: acct, HomeRegion: "us-east-1", S3BucketName: "trail-bucket", IncludeGlobalServiceEvents: true,
		IsMultiRegionTrail: multi, LogFileValidationEnabled: true}
	if err := f.objects.CreateBucket(ctx, tr.S3BucketName); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.Create(ctx, tr, nil); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.SetLogging(ctx, tr.ARN, true, time.Now()); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.StartChains(ctx, tr, f.clock); err != nil {
		f.t.Fatal(err)
	}
	return tr
}

func (f *fixture) step() {
	f.t.Helper()
	if err := f.d.step(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) validate(tr *Trail, region string) (string, string, int) {
	var out, errb bytes.Buffer
	p := &integrity.Printer{Stdout: &out, Stderr: &errb, Verbose: true, TrailARN: tr.ARN, Start: f.clock.Add(-time.Hour), End: f.clock}
	p.Begin()
	c, _ := integrity.ChainFromARN(tr.ARN)
	c.Bucket, c.SourceRegion = tr.S3BucketName, region
	if err := integrity.Validate(context.Background(), objstore.Source{Store: f.objects}, f.keys.Provider(region), c, p.Start, p.End, p, integrity.Options{}); err != nil {
		f.t.Fatal(err)
	}
	p.Summary()
	return out.String(), errb.String(), p.ExitCode()
}

// Delivered files hold each routed event once, digests chain and sign them, and the
// validation walk accepts the result, then catches tampering.
func TestDeliveryDigestsAndValidation(t *testing.T) {
	f := newFixture(t)
	tr := f.createTrail("main", true)
	f.record(10, "us-east-1", "RunInstances")
	f.record(5, "eu-west-1", "RunInstances")
	f.step()
	f.clock = f.clock.Add(4 * time.Second)
	f.record(3, "us-east-1", "StopInstances")
	f.step()
	f.clock = f.clock.Add(7 * time.Second) // first digest due (10s after the chain started)
	f.step()
	f.clock = f.clock.Add(10 * time.Second) // an empty interval still gets a digest
	f.step()

	var logs, digests []string
	f.objects.List(context.Background(), "trail-bucket", "", "", func(o objstore.Object) bool {
		info, err := logfile.ParseKey(o.Key)
		if err != nil {
			t.Errorf("delivered key %s: %v", o.Key, err)
		}
		if info.Kind == logfile.Digest {
			digests = append(digests, o.Key)
		} else {
			logs = append(logs, o.Key)
		}
		return true
	})
	if len(logs) != 3 {
		t.Fatalf("log files %v, want 3 (us-east-1 twice, eu-west-1 once)", logs)
	}
	// us-east-1: 2 digests (one with files, one empty); eu-west-1 chain started with its file.
	if len(digests) != 4 { // per region: one digest with files, one empty
		t.Fatalf("digests %v", digests)
	}
	events := 0
	for _, k := range logs {
		body, _, err := f.objects.Get(context.Background(), "trail-bucket", k)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		logfile.Decode(body, func(raw []byte) error { n++; return nil })
		body.Close()
		events += n
	}
	if events != 18 {
		t.Errorf("%d events delivered, want 18", events)
	}

	out, errs, code := f.validate(tr, "us-east-1")
	if code != 0 || errs != "" || !strings.Contains(out, "2/2 digest files valid") || !strings.Contains(out, "2/2 log files valid") {
		t.Fatalf("validate: exit %d\n%s\nstderr:\n%s", code, out, errs)
	}
	out, errs, code = f.validate(tr, "eu-west-1")
	if code != 0 || !strings.Contains(out, "2/2 digest files valid") || !strings.Contains(out, "1/1 log files valid") {
		t.Fatalf("validate eu-west-1: exit %d\n%s\n%s", code, out, errs)
	}

	// Tamper: change one byte of a log file's content.
	var usLog string
	for _, k := range logs {
		if strings.Contains(k, "/us-east-1/") {
			usLog = k
			break
		}
	}
	body, _, _ := f.objects.Get(context.Background(), "trail-bucket", usLog)
	gz, _ := io.ReadAll(body)
	body.Close()
	plain := mustGunzip(t, gz)
	plain[20] ^= 1
	var re bytes.Buffer
	logfile.WriteGzip(&re, plain)
	f.objects.Put(context.Background(), "trail-bucket", usLog, re.Bytes(), nil)
	_, errs, code = f.validate(tr, "us-east-1")
	if code != 1 || !strings.Contains(errs, usLog+"\tINVALID: hash value doesn't match") {
		t.Errorf("after tampering: exit %d, stderr:\n%s", code, errs)
	}
}

func mustGunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An organisation trail delivers each member's events under AWSLogs/<o-id>/<account>/, with a
// digest chain per account, and covers an account that joined after the trail was created.
func TestOrganizationTrailLayout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	accounts, err := iam.NewStore(f.store.db, filepath.Join(f.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	org, err := accounts.CreateOrganization(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trail{Name: "org", Account: acct, HomeRegion: "us-east-1", S3BucketName: "org-bucket", IncludeGlobalServiceEvents: true,
		IsMultiRegionTrail: true, IsOrganizationTrail: true, OrganizationID: org, LogFileValidationEnabled: true}
	f.objects.CreateBucket(ctx, tr.S3BucketName)
	if err := f.store.Create(ctx, tr, nil); err != nil {
		t.Fatal(err)
	}
	f.store.SetLogging(ctx, tr.ARN, true, time.Now().Add(-time.Second))
	f.store.StartChains(ctx, tr, f.clock)
	if err := accounts.JoinOrganization(ctx, org, "444455556666"); err != nil {
		t.Fatal(err)
	}
	f.record(2, "us-east-1", "RunInstances")
	res, err := f.rec.Record(ctx, recorder.Scope{AnyAccount: true}, [][]byte{[]byte(`{"eventVersion":"1.11","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"CreateBucket","awsRegion":"eu-west-1","eventID":"member-1","recipientAccountId":"444455556666","eventCategory":"Management","readOnly":false}`)})
	if err != nil || res[0].Status != recorder.Recorded {
		t.Fatalf("record member event: %v %+v", err, res)
	}
	f.step()
	f.clock = f.clock.Add(11 * time.Second)
	f.step()
	var keys []string
	f.objects.List(ctx, "org-bucket", "", "", func(o objstore.Object) bool { keys = append(keys, o.Key); return true })
	want := []string{
		"AWSLogs/" + org + "/111122223333/CloudTrail-Digest/us-east-1/",
		"AWSLogs/" + org + "/111122223333/CloudTrail/us-east-1/",
		"AWSLogs/" + org + "/444455556666/CloudTrail-Digest/eu-west-1/",
		"AWSLogs/" + org + "/444455556666/CloudTrail/eu-west-1/",
	}
	for _, w := range want {
		found := false
		for _, k := range keys {
			found = found || strings.HasPrefix(k, w)
		}
		if !found {
			t.Errorf("nothing delivered under %s; keys:\n%s", w, strings.Join(keys, "\n"))
		}
	}
	// Each account's chain validates, as `cairn validate --account-id` walks it.
	for _, c := range []struct{ account, region string }{{acct, "us-east-1"}, {"444455556666", "eu-west-1"}} {
		var out, errb bytes.Buffer
		p := &integrity.Printer{Stdout: &out, Stderr: &errb, TrailARN: tr.ARN, Start: f.clock.Add(-time.Hour), End: f.clock}
		p.Begin()
		chain, _ := integrity.ChainFromARN(tr.ARN)
		chain.Bucket, chain.SourceRegion, chain.Account, chain.OrgID = tr.S3BucketName, c.region, c.account, org
		if err := integrity.Validate(ctx, objstore.Source{Store: f.objects}, f.keys.Provider(c.region), chain, p.Start, p.End, p, integrity.Options{}); err != nil {
			t.Fatal(err)
		}
		p.Summary()
		if p.ExitCode() != 0 || !strings.Contains(out.String(), "1/1 digest files valid") || !strings.Contains(out.String(), "1/1 log files valid") {
			t.Errorf("validate account %s in %s: exit %d\n%s%s", c.account, c.region, p.ExitCode(), out.String(), errb.String())
		}
	}
}

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/objstore"
	"github.com/cairn-dev/cairn/internal/objstore/s3"
)

// validateRun is one validation's output.
type validateRun struct {
	stdout, stderr string
	code           int
}

// trailOnS3 is a cairn delivering to versitygw, with one validated trail that has delivered
// several digests and log files.
type trailOnS3 struct {
	cairn   *cairntest.Server
	s3      *cairntest.S3Server
	objects objstore.Store
	arn     string
	bucket  string
	start   time.Time
	end     time.Time
}

func newTrailOnS3(t *testing.T) *trailOnS3 {
	t.Helper()
	srv := cairntest.StartS3(t)
	c := cairntest.New(t, "--object-store", "s3", "--delivery-interval", "1s", "--digest-interval", "2s")
	c.ExtraEnv = srv.Env()
	c.Restart()
	objects, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Region: "us-east-1", AccessKeyID: cairntest.S3AccessKey, SecretAccessKey: cairntest.S3SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := cloudtrail.NewFromConfig(c.AWSConfig())
	const bucket = "validated-trail"
	out, err := client.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("validated"), S3BucketName: aws.String(bucket),
		EnableLogFileValidation: aws.Bool(true), S3KeyPrefix: aws.String("audit")})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trailOnS3{cairn: c, s3: srv, objects: objects, arn: aws.ToString(out.TrailARN), bucket: bucket, start: time.Now().UTC().Add(-time.Minute).Truncate(time.Second)}
	if _, err := client.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: out.TrailARN}); err != nil {
		t.Fatal(err)
	}
	// Several delivery cycles and digests, one interval without events.
	for round := 0; round < 4; round++ {
		if round != 2 {
			var recs [][]byte
			for i := 0; i < 50; i++ {
				recs = append(recs, record(fmt.Sprintf("v%d-%03d", round, i), "RunInstances", cairntest.AccountID, cairntest.Region, time.Now(), ""))
			}
			if _, err := ingestClient(c).Send(ctx, recs); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2500 * time.Millisecond)
	}
	if _, err := client.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: out.TrailARN}); err != nil {
		t.Fatal(err)
	}
	tr.end = time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	return tr
}

func (tr *trailOnS3) keys(t *testing.T, kind logfile.Kind) []string {
	var out []string
	err := tr.objects.List(context.Background(), tr.bucket, "", "", func(o objstore.Object) bool {
		if info, err := logfile.ParseKey(o.Key); err == nil && info.Kind == kind {
			out = append(out, o.Key)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// awsValidate runs the machine's aws CLI (1.45): CloudTrail at cairn, S3 at versitygw.
func (tr *trailOnS3) awsValidate(t *testing.T, extra ...string) validateRun {
	aws := cairntest.Tool(t, "aws")
	cmd := exec.Command(aws, append([]string{"cloudtrail", "validate-logs", "--endpoint-url", tr.cairn.Endpoint, "--trail-arn", tr.arn,
		"--start-time", tr.start.Format(time.RFC3339), "--end-time", tr.end.Format(time.RFC3339)}, extra...)...)
	cmd.Env = append(tr.cairn.Env(), "AWS_ENDPOINT_URL_S3="+tr.s3.Endpoint)
	return run(t, cmd)
}

// cairnValidate runs `cairn validate` over the same S3 store.
func (tr *trailOnS3) cairnValidate(t *testing.T, extra ...string) validateRun {
	cmd := exec.Command(cairntest.Binary(t), append([]string{"validate", "--object-store", "s3", "--trail-arn", tr.arn,
		"--start-time", tr.start.Format(time.RFC3339), "--end-time", tr.end.Format(time.RFC3339)}, extra...)...)
	cmd.Env = append(tr.cairn.Env(), tr.s3.Env()...)
	return run(t, cmd)
}

func run(t *testing.T, cmd *exec.Cmd) validateRun {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return validateRun{out.String(), errb.String(), code}
}

// both runs both validators (with extra flags, e.g. --verbose) and requires them to agree exactly.
func (tr *trailOnS3) both(t *testing.T, clis bool, extra ...string) validateRun {
	t.Helper()
	mine := tr.cairnValidate(t, extra...)
	if clis {
		theirs := tr.awsValidate(t, extra...)
		if mine != theirs {
			t.Errorf("cairn validate and aws cloudtrail validate-logs differ:\n--- aws (exit %d)\n%s%s\n--- cairn (exit %d)\n%s%s",
				theirs.code, theirs.stdout, theirs.stderr, mine.code, mine.stdout, mine.stderr)
		}
	}
	return mine
}

func (tr *trailOnS3) get(t *testing.T, key string) ([]byte, map[string]string) {
	body, o, err := tr.objects.Get(context.Background(), tr.bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return b, o.Metadata
}

func (tr *trailOnS3) put(t *testing.T, key string, body []byte, meta map[string]string) {
	if err := tr.objects.Put(context.Background(), tr.bucket, key, body, meta); err != nil {
		t.Fatal(err)
	}
}

func (tr *trailOnS3) del(t *testing.T, key string) {
	if err := tr.objects.Delete(context.Background(), tr.bucket, key); err != nil {
		t.Fatal(err)
	}
}

func regzip(t *testing.T, gz []byte, edit func([]byte) []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := logfile.WriteGzip(&out, edit(plain)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// The real aws CLI accepts what cairn delivers, and after each tampering both it and cairn
// validate report exactly that, with the same output and exit status.
func TestValidateLogsTamperingAWSCLIAndCairn(t *testing.T) {
	tr := newTrailOnS3(t)
	_, hasCLI := exec.LookPath("aws")
	clis := hasCLI == nil || os.Getenv("CI") == "true"
	digests, logs := tr.keys(t, logfile.Digest), tr.keys(t, logfile.Log)
	if len(digests) < 4 || len(logs) < 3 {
		t.Fatalf("delivered %d digests and %d log files; want at least 4 and 3", len(digests), len(logs))
	}
	clean := tr.both(t, clis)
	wantSummary := fmt.Sprintf("%d/%d digest files valid\n%d/%d log files valid\n", len(digests), len(digests), len(logs), len(logs))
	if clean.code != 0 || clean.stderr != "" || !strings.Contains(clean.stdout, wantSummary) {
		t.Fatalf("untouched trail: exit %d, want every file valid (%q)\n%s%s", clean.code, wantSummary, clean.stdout, clean.stderr)
	}
	// --verbose names every file valid, in aws-cli's order and words.
	if v := tr.both(t, clis, "--verbose"); v.code != 0 || strings.Count(v.stdout, "\tvalid\n") != len(digests)+len(logs) {
		t.Errorf("--verbose: exit %d, want a line per valid file\n%s%s", v.code, v.stdout, v.stderr)
	}
	uri := func(key string) string { return "s3://" + tr.bucket + "/" + key }
	middle := digests[len(digests)/2]

	cases := []struct {
		name   string
		tamper func(t *testing.T) (restore func())
		want   []string // lines on stderr, in order
	}{
		{"one byte of a log file changed", func(t *testing.T) func() {
			body, meta := tr.get(t, logs[1])
			tr.put(t, logs[1], regzip(t, body, func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b }), meta)
			return func() { tr.put(t, logs[1], body, meta) }
		}, []string{"Log file\t" + uri(logs[1]) + "\tINVALID: hash value doesn't match"}},
		{"a log file deleted", func(t *testing.T) func() {
			body, meta := tr.get(t, logs[0])
			tr.del(t, logs[0])
			return func() { tr.put(t, logs[0], body, meta) }
		}, []string{"Log file\t" + uri(logs[0]) + "\tINVALID: not found"}},
		{"a log file moved", func(t *testing.T) func() {
			body, meta := tr.get(t, logs[2])
			moved := strings.Replace(logs[2], "/CloudTrail/", "/CloudTrail-moved/", 1)
			tr.del(t, logs[2])
			tr.put(t, moved, body, meta)
			return func() { tr.del(t, moved); tr.put(t, logs[2], body, meta) }
		}, []string{"Log file\t" + uri(logs[2]) + "\tINVALID: not found"}},
		{"a digest deleted", func(t *testing.T) func() {
			body, meta := tr.get(t, middle)
			tr.del(t, middle)
			return func() { tr.put(t, middle, body, meta) }
		}, []string{"Digest file\t" + uri(middle) + "\tINVALID: not found"}},
		{"a digest edited", func(t *testing.T) func() {
			body, meta := tr.get(t, middle)
			tr.put(t, middle, regzip(t, body, func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"awsAccountId":"`), []byte(`"awsAccountId":"9`), 1)
			}), meta)
			return func() { tr.put(t, middle, body, meta) }
		}, []string{"Digest file\t" + uri(middle) + "\tINVALID: signature verification failed"}},
		{"a digest moved", func(t *testing.T) func() {
			body, meta := tr.get(t, middle)
			info, _ := logfile.ParseKey(middle)
			info.Time = info.Time.Add(-time.Second) // still between its neighbours in the listing
			moved := info.Key()
			tr.del(t, middle)
			tr.put(t, moved, body, meta)
			return func() { tr.del(t, moved); tr.put(t, middle, body, meta) }
		}, []string{"Digest file\t" + uri(middle) + "\tINVALID: not found"}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			restore := c.tamper(t)
			defer restore()
			got := tr.both(t, clis)
			if got.code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", got.code, got.stdout, got.stderr)
			}
			var lines []string
			for _, l := range strings.Split(got.stderr, "\n") {
				if l != "" {
					lines = append(lines, l)
				}
			}
			if c.name == "a digest moved" {
				// The chain finds its original place empty; the copy is listed under its new name.
				if len(lines) != 2 || lines[0] != c.want[0] || !strings.HasSuffix(lines[1], "\tINVALID: has been moved from its original location") {
					t.Errorf("stderr:\n%s", got.stderr)
				}
				return
			}
			if strings.Join(lines, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("stderr:\n%s\nwant:\n%s", got.stderr, strings.Join(c.want, "\n"))
			}
		})
	}
	// Restored, everything is valid again.
	if again := tr.both(t, false); again.code != 0 {
		t.Errorf("after restoring: exit %d\n%s", again.code, again.stderr)
	}

	// Logging stopped and started again: a second chain, whose first digest has null previous*
	// members. Both validators walk from it to the first chain and report the gap between them.
	ctx := context.Background()
	client := cloudtrail.NewFromConfig(tr.cairn.AWSConfig())
	if _, err := client.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(tr.arn)}); err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for i := 0; i < 20; i++ {
		recs = append(recs, record(fmt.Sprintf("restart-%03d", i), "RunInstances", cairntest.AccountID, cairntest.Region, time.Now(), ""))
	}
	if _, err := ingestClient(tr.cairn).Send(ctx, recs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := client.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(tr.arn)}); err != nil {
		t.Fatal(err)
	}
	tr.end = time.Now().UTC().Add(time.Minute).Truncate(time.Second)
	restarted := tr.both(t, clis)
	digests2, logs2 := tr.keys(t, logfile.Digest), tr.keys(t, logfile.Log)
	wantSummary = fmt.Sprintf("%d/%d digest files valid\n%d/%d log files valid\n", len(digests2), len(digests2), len(logs2), len(logs2))
	if restarted.code != 0 || !strings.Contains(restarted.stdout, wantSummary) || len(digests2) <= len(digests) ||
		!strings.HasPrefix(restarted.stderr, "No log files were delivered by CloudTrail between ") {
		t.Errorf("after stop and start: exit %d, want every file valid (%q) and the gap reported\n%s%s", restarted.code, wantSummary, restarted.stdout, restarted.stderr)
	}
}

// An organisation trail delivers each account's files under AWSLogs/<o-id>/<account>/, and the
// real aws CLI validates one member's files: it asks cairn's Organizations API for the
// organisation's ID (AWS_ENDPOINT_URL_ORGANIZATIONS), as it asks AWS's. cairn validate agrees.
func TestValidateOrganizationTrailAWSCLI(t *testing.T) {
	srv := cairntest.StartS3(t)
	c := cairntest.New(t, "--object-store", "s3", "--delivery-interval", "1s", "--digest-interval", "2s")
	c.ExtraEnv = srv.Env()
	c.Restart()
	cairnCLI := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cairntest.Binary(t), append(args, "--data", c.Data)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cairn %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
		}
		return strings.TrimSpace(string(out))
	}
	const member = "444455556666"
	orgID := cairnCLI("org", "create", "--management", cairntest.AccountID)
	cairnCLI("org", "add-account", "--organization", orgID, "--account", member)

	ctx := context.Background()
	client := cloudtrail.NewFromConfig(c.AWSConfig())
	const bucket = "org-trail"
	out, err := client.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String(bucket),
		EnableLogFileValidation: aws.Bool(true), IsOrganizationTrail: aws.Bool(true), IsMultiRegionTrail: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	if _, err := client.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: out.TrailARN}); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var recs [][]byte
		for i := range 20 {
			for _, account := range []string{cairntest.AccountID, member} {
				recs = append(recs, record(fmt.Sprintf("org%d-%s-%03d", round, account, i), "RunInstances", account, cairntest.Region, time.Now(), ""))
			}
		}
		if _, err := ingestClient(c).Send(ctx, recs); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
	}
	if _, err := client.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: out.TrailARN}); err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Add(time.Minute).Truncate(time.Second)

	// The member's files, under the organisation's folder.
	objects, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Region: "us-east-1", AccessKeyID: cairntest.S3AccessKey, SecretAccessKey: cairntest.S3SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	var digests, logs int
	err = objects.List(ctx, bucket, "AWSLogs/"+orgID+"/"+member+"/", "", func(o objstore.Object) bool {
		if info, err := logfile.ParseKey(o.Key); err == nil {
			switch info.Kind {
			case logfile.Digest:
				digests++
			case logfile.Log:
				logs++
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if digests < 2 || logs < 2 {
		t.Fatalf("the member's folder holds %d digests and %d log files; want at least 2 of each", digests, logs)
	}

	args := []string{"--trail-arn", aws.ToString(out.TrailARN), "--account-id", member,
		"--start-time", start.Format(time.RFC3339), "--end-time", end.Format(time.RFC3339)}
	awsCmd := exec.Command(cairntest.Tool(t, "aws"), append([]string{"cloudtrail", "validate-logs", "--endpoint-url", c.Endpoint}, args...)...)
	awsCmd.Env = append(c.Env(), "AWS_ENDPOINT_URL_S3="+srv.Endpoint, "AWS_ENDPOINT_URL_ORGANIZATIONS="+c.Endpoint)
	theirs := run(t, awsCmd)
	mineCmd := exec.Command(cairntest.Binary(t), append([]string{"validate", "--object-store", "s3"}, args...)...)
	mineCmd.Env = append(c.Env(), srv.Env()...)
	mine := run(t, mineCmd)
	want := fmt.Sprintf("%d/%d digest files valid\n%d/%d log files valid\n", digests, digests, logs, logs)
	if theirs.code != 0 || theirs.stderr != "" || !strings.Contains(theirs.stdout, want) {
		t.Errorf("aws cloudtrail validate-logs --account-id %s: exit %d, want every file valid (%q)\n%s%s", member, theirs.code, want, theirs.stdout, theirs.stderr)
	}
	if mine != theirs {
		t.Errorf("cairn validate and aws cloudtrail validate-logs differ:\n--- aws (exit %d)\n%s%s\n--- cairn (exit %d)\n%s%s",
			theirs.code, theirs.stdout, theirs.stderr, mine.code, mine.stdout, mine.stderr)
	}

	// The Organizations API through the aws CLI: the organisation, and its accounts one per page.
	orgs := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(cairntest.Tool(t, "aws"), append(append([]string{"organizations"}, args...), "--endpoint-url", c.Endpoint, "--output", "json")...)
		cmd.Env = c.Env()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws organizations %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
		}
		return out
	}
	var described struct {
		Organization struct{ Id, Arn, FeatureSet, MasterAccountId, MasterAccountArn string }
	}
	if err := json.Unmarshal(orgs("describe-organization"), &described); err != nil {
		t.Fatal(err)
	}
	if o := described.Organization; o.Id != orgID || o.MasterAccountId != cairntest.AccountID || o.FeatureSet != "ALL" ||
		o.Arn != "arn:aws:organizations::"+cairntest.AccountID+":organization/"+orgID ||
		o.MasterAccountArn != "arn:aws:organizations::"+cairntest.AccountID+":account/"+orgID+"/"+cairntest.AccountID {
		t.Errorf("describe-organization: %+v", o)
	}
	var listed struct {
		Accounts []struct{ Id, Arn, Status, State string }
	}
	if err := json.Unmarshal(orgs("list-accounts", "--page-size", "1"), &listed); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range listed.Accounts {
		ids = append(ids, a.Id)
		if a.State != "ACTIVE" || a.Arn != "arn:aws:organizations::"+cairntest.AccountID+":account/"+orgID+"/"+a.Id {
			t.Errorf("list-accounts: %+v", a)
		}
	}
	if want := []string{cairntest.AccountID, member}; !slices.Equal(ids, want) { // by account ID
		t.Errorf("list-accounts one per page: %v, want %v", ids, want)
	}
}

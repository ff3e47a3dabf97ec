package integration

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The trail operations through aws-sdk-go-v2, with AWS's defaults, validation and exceptions.
func TestTrailOperationsSDK(t *testing.T) {
	s := cairntest.Start(t, "--delivery-interval", "1s")
	ctx := context.Background()
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	eu := cloudtrail.NewFromConfig(s.AWSConfig(), func(o *cloudtrail.Options) { o.Region = "eu-west-1" })

	for _, bad := range []struct {
		in   cloudtrail.CreateTrailInput
		code string
	}{
		{cloudtrail.CreateTrailInput{Name: aws.String("ab"), S3BucketName: aws.String("b-ucket")}, "InvalidTrailNameException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("a..b"), S3BucketName: aws.String("b-ucket")}, "InvalidTrailNameException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("10.0.0.1"), S3BucketName: aws.String("b-ucket")}, "InvalidTrailNameException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("good"), S3BucketName: aws.String("Bad_Bucket")}, "InvalidS3BucketNameException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("good"), S3BucketName: aws.String("b-ucket"), S3KeyPrefix: aws.String(strings.Repeat("p", 201))}, "InvalidS3PrefixException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("good"), S3BucketName: aws.String("b-ucket"), IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(false)}, "InvalidParameterCombinationException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("good"), S3BucketName: aws.String("b-ucket"), IsOrganizationTrail: aws.Bool(true)}, "OrganizationsNotInUseException"},
		{cloudtrail.CreateTrailInput{Name: aws.String("good"), S3BucketName: aws.String("b-ucket"), TagsList: []types.Tag{{Key: aws.String("aws:x")}}}, "InvalidTagParameterException"},
	} {
		if _, err := c.CreateTrail(ctx, &bad.in); apiCode(err) != bad.code {
			t.Errorf("CreateTrail(%s, %s): %v, want %s", aws.ToString(bad.in.Name), aws.ToString(bad.in.S3BucketName), err, bad.code)
		}
	}

	created, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("main-bucket"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true), TagsList: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.TrailARN)
	if arn != "arn:aws:cloudtrail:us-east-1:111122223333:trail/main" || !aws.ToBool(created.IncludeGlobalServiceEvents) || !aws.ToBool(created.LogFileValidationEnabled) {
		t.Errorf("CreateTrail = %+v", created)
	}
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("main"), S3BucketName: aws.String("main-bucket")}); apiCode(err) != "TrailAlreadyExistsException" {
		t.Errorf("duplicate: %v", err)
	}
	for i := 1; i < 5; i++ {
		if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(fmt.Sprintf("extra-%d", i)), S3BucketName: aws.String("main-bucket")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("sixth"), S3BucketName: aws.String("main-bucket")}); apiCode(err) != "MaximumNumberOfTrailsExceededException" {
		t.Errorf("sixth trail: %v", err)
	}

	status, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")})
	if err != nil || aws.ToBool(status.IsLogging) {
		t.Fatalf("a new trail is not logging: %+v %v", status, err)
	}
	if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eu.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); apiCode(err) != "InvalidHomeRegionException" {
		t.Errorf("StartLogging outside the home region: %v", err)
	}
	status, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil || !aws.ToBool(status.IsLogging) || status.StartLoggingTime == nil || aws.ToString(status.TimeLoggingStarted) != status.StartLoggingTime.UTC().Format("2006-01-02T15:04:05Z") {
		t.Fatalf("GetTrailStatus after StartLogging: %+v %v", status, err)
	}
	// A multi-region trail is a shadow trail elsewhere: found by name, listed by DescribeTrails.
	if _, err := eu.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")}); err != nil {
		t.Errorf("GetTrail of the shadow trail: %v", err)
	}
	d, err := eu.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil || len(d.TrailList) != 1 || aws.ToString(d.TrailList[0].HomeRegion) != "us-east-1" {
		t.Errorf("DescribeTrails in eu-west-1: %+v %v", d, err)
	}
	d, err = eu.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil || len(d.TrailList) != 0 {
		t.Errorf("DescribeTrails without shadows: %+v %v", d, err)
	}
	if _, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("nope")}); apiCode(err) != "TrailNotFoundException" {
		t.Errorf("GetTrail unknown: %v", err)
	}
	list, err := c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	if err != nil || len(list.Trails) != 5 {
		t.Errorf("ListTrails: %d %v", len(list.Trails), err)
	}

	// Selectors: the default, basic, advanced (which replaces basic), Insights.
	sel, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("main")})
	if err != nil || len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != types.ReadWriteTypeAll || !aws.ToBool(sel.EventSelectors[0].IncludeManagementEvents) {
		t.Errorf("default selectors: %+v %v", sel, err)
	}
	if _, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
		EventSelectors: []types.EventSelector{{ReadWriteType: types.ReadWriteTypeWriteOnly, DataResources: []types.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::b/"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"),
		EventSelectors: []types.EventSelector{{ReadWriteType: "Sometimes"}}}); apiCode(err) != "InvalidEventSelectorsException" {
		t.Errorf("bad ReadWriteType: %v", err)
	}
	adv := []types.AdvancedEventSelector{{Name: aws.String("writes"), FieldSelectors: []types.AdvancedFieldSelector{
		{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("readOnly"), Equals: []string{"false"}}}}}
	if _, err := c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("main"), AdvancedEventSelectors: adv}); err != nil {
		t.Fatal(err)
	}
	sel, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("main")})
	if err != nil || len(sel.EventSelectors) != 0 || len(sel.AdvancedEventSelectors) != 1 {
		t.Errorf("after advanced selectors: %+v %v", sel, err)
	}
	if _, err := c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("main")}); apiCode(err) != "InsightNotEnabledException" {
		t.Errorf("GetInsightSelectors without Insights: %v", err)
	}
	if _, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String("main"),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight}}}); err != nil {
		t.Fatal(err)
	}
	ins, err := c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("main")})
	if err != nil || len(ins.InsightSelectors) != 1 {
		t.Errorf("GetInsightSelectors: %+v %v", ins, err)
	}
	g, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("main")})
	if err != nil || !aws.ToBool(g.Trail.HasCustomEventSelectors) || !aws.ToBool(g.Trail.HasInsightSelectors) {
		t.Errorf("GetTrail flags: %+v %v", g.Trail, err)
	}

	// Tags.
	if _, err := c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if err != nil || len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 || aws.ToString(tags.ResourceTagList[0].TagsList[0].Key) != "env" {
		t.Errorf("ListTags: %+v %v", tags, err)
	}
	if _, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{"arn:aws:cloudtrail:us-east-1:111122223333:trail/none"}}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("ListTags unknown: %v", err)
	}

	// Public keys: PKCS #1 DER whose MD5 is the fingerprint.
	keys, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	if err != nil || len(keys.PublicKeyList) != 1 {
		t.Fatalf("ListPublicKeys: %+v %v", keys, err)
	}
	k := keys.PublicKeyList[0]
	sum := md5.Sum(k.Value)
	if _, err := x509.ParsePKCS1PublicKey(k.Value); err != nil || hex.EncodeToString(sum[:]) != aws.ToString(k.Fingerprint) ||
		k.ValidityEndTime.Sub(*k.ValidityStartTime) != 30*24*time.Hour {
		t.Errorf("public key: %v fingerprint %s validity %v–%v", err, aws.ToString(k.Fingerprint), k.ValidityStartTime, k.ValidityEndTime)
	}
	if _, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(time.Now()), EndTime: aws.Time(time.Now().Add(-time.Hour))}); apiCode(err) != "InvalidTimeRangeException" {
		t.Errorf("ListPublicKeys reversed range: %v", err)
	}

	// UpdateTrail, StopLogging and DeleteTrail.
	up, err := c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("main"), S3KeyPrefix: aws.String("p")})
	if err != nil || aws.ToString(up.S3KeyPrefix) != "p" {
		t.Errorf("UpdateTrail: %+v %v", up, err)
	}
	if _, err := c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	status, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("main")})
	if err != nil || aws.ToBool(status.IsLogging) || status.StopLoggingTime == nil || aws.ToString(status.TimeLoggingStopped) == "" || status.LatestDigestDeliveryTime == nil {
		t.Errorf("after StopLogging (final digest delivered): %+v %v", status, err)
	}
	if _, err := c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)}); apiCode(err) != "TrailNotFoundException" {
		t.Errorf("deleted trail: %v", err)
	}
}

// The aws CLIs drive trails as their users do: the machine's 1.45 and Debian's 2.9.
func TestTrailOperationsCLI(t *testing.T) {
	s := cairntest.Start(t)
	for i, bin := range []string{"aws", "/usr/bin/aws"} {
		t.Run(filepath.Base(filepath.Dir(bin))+bin, func(t *testing.T) {
			path := cairntest.Tool(t, bin)
			name := fmt.Sprintf("cli-%d", i)
			awsCLI := func(args ...string) map[string]any {
				t.Helper()
				cmd := exec.Command(path, append([]string{"--endpoint-url", s.Endpoint, "--output", "json"}, args...)...)
				cmd.Env = s.Env()
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
				}
				var m map[string]any
				if len(strings.TrimSpace(string(out))) > 0 {
					if err := json.Unmarshal(out, &m); err != nil {
						t.Fatalf("aws %s: %v\n%s", args[1], err, out)
					}
				}
				return m
			}
			awsCLI("cloudtrail", "create-trail", "--name", name, "--s3-bucket-name", "cli-bucket", "--enable-log-file-validation")
			awsCLI("cloudtrail", "start-logging", "--name", name)
			st := awsCLI("cloudtrail", "get-trail-status", "--name", name)
			if st["IsLogging"] != true || st["TimeLoggingStarted"] == "" {
				t.Errorf("get-trail-status: %v", st)
			}
			d := awsCLI("cloudtrail", "describe-trails", "--trail-name-list", name)
			if l, _ := d["trailList"].([]any); len(l) != 1 {
				t.Errorf("describe-trails: %v", d)
			}
			sel := awsCLI("cloudtrail", "put-event-selectors", "--trail-name", name, "--event-selectors",
				`[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true,"DataResources":[]}]`)
			if l, _ := sel["EventSelectors"].([]any); len(l) != 1 {
				t.Errorf("put-event-selectors: %v", sel)
			}
			awsCLI("cloudtrail", "stop-logging", "--name", name)
			awsCLI("cloudtrail", "delete-trail", "--name", name)
		})
	}
}

// Delivery follows the journal with its own checkpoint: SIGKILL during delivery, restart, and
// the delivered files hold every acknowledged event exactly once. Then an independent reader
// (DuckDB's read_json over the delivered tree) finds the same events as LookupEvents.
func TestTrailDeliveryCrashAndIndependentReader(t *testing.T) {
	const region = "sa-east-1"
	s := cairntest.Start(t, "--delivery-interval", "1s", "--digest-interval", "3s", "--history-flush-interval", "300ms")
	ctx := context.Background()
	c := cloudtrail.NewFromConfig(s.AWSConfig(), func(o *cloudtrail.Options) { o.Region = region })
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("crash"), S3BucketName: aws.String("crash-bucket"), EnableLogFileValidation: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	window := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	acked := map[string]bool{}
	for round := 0; round < 3; round++ {
		deadline := time.Now().Add(time.Duration(1200+400*round) * time.Millisecond)
		for b := 0; time.Now().Before(deadline); b++ {
			var batch [][]byte
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("crash-%d-%04d-%03d", round, b, i)
				batch = append(batch, record(id, "CreateBucket", cairntest.AccountID, region, window.Add(time.Duration(len(acked)+i)*time.Second), ""))
			}
			resp, err := ingestClient(s).Send(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range resp.Results {
				acked[r.EventID] = true
			}
		}
		s.Kill() // delivery runs every second under this load: the kill lands mid-cycle often
		s.Restart()
	}
	// Everything acknowledged gets delivered after the last restart.
	data := filepath.Join(s.Data, "objects", "crash-bucket")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := filepath.Join(data, "AWSLogs", cairntest.AccountID, "CloudTrail", region, "*", "*", "*", "*.json.gz")
	query := `SELECT r->>'eventID' AS id, count(*) FROM (SELECT unnest(Records) AS r FROM read_json(?, columns={'Records': 'JSON[]'}, format='auto', maximum_object_size=268435456))
		WHERE r->>'eventID' LIKE 'crash-%' GROUP BY id`
	delivered := map[string]int{}
	var lastErr error
	defer func() {
		if t.Failed() {
			t.Logf("delivered %d of %d; last query error: %v", len(delivered), len(acked), lastErr)
		}
	}()
	cairntest.WaitFor(t, 60*time.Second, "every acknowledged event delivered", func() bool {
		clear(delivered)
		rows, err := db.Query(query, glob)
		if lastErr = err; err != nil {
			return false
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int
			rows.Scan(&id, &n)
			delivered[id] = n
		}
		return len(delivered) >= len(acked)
	})
	for id := range acked {
		if delivered[id] != 1 {
			t.Errorf("acknowledged event %s delivered %d times", id, delivered[id])
		}
	}
	for id, n := range delivered {
		if !acked[id] || n != 1 {
			t.Errorf("delivered event %s: %d copies, acknowledged %v", id, n, acked[id])
		}
	}
	t.Logf("%d events acknowledged across 3 crashes; each delivered exactly once", len(acked))

	// LookupEvents for the window finds the same events as the files. Events are a second
	// apart, so the window grows with however many the machine acknowledged.
	windowEnd := window.Add(time.Duration(len(acked)+200) * time.Second)
	var fromLookup []string
	p := cloudtrail.NewLookupEventsPaginator(c, &cloudtrail.LookupEventsInput{StartTime: aws.Time(window), EndTime: aws.Time(windowEnd),
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateBucket")}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			fromLookup = append(fromLookup, aws.ToString(e.EventId))
		}
	}
	var fromFiles []string
	rows, err := db.Query(`SELECT r->>'eventID' FROM (SELECT unnest(Records) AS r FROM read_json(?, columns={'Records': 'JSON[]'}, format='auto', maximum_object_size=268435456))
		WHERE r->>'eventName' = 'CreateBucket' AND CAST(r->>'eventTime' AS TIMESTAMP) BETWEEN ? AND ?`, glob, window, windowEnd)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		fromFiles = append(fromFiles, id)
	}
	rows.Close()
	slices.Sort(fromLookup)
	slices.Sort(fromFiles)
	if len(fromFiles) != len(acked) || !slices.Equal(fromLookup, fromFiles) {
		t.Errorf("LookupEvents found %d events, DuckDB over the delivered files %d (acknowledged %d)", len(fromLookup), len(fromFiles), len(acked))
	}

	// And the digests survived the crashes: cairn validate accepts the trail.
	if _, err := c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cairntest.Binary(t), "validate", "--data", s.Data, "--region", region, "--trail-arn", "arn:aws:cloudtrail:"+region+":"+cairntest.AccountID+":trail/crash",
		"--start-time", time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339))
	cmd.Env = s.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cairn validate after crashes: %v\n%s", err, out)
	}
}

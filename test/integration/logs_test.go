package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// The scenario's metric filter pattern, verbatim.
const signInFailures = `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`

// consoleLogin is a console sign-in record as CloudTrail writes it; failed ones carry
// errorMessage "Failed authentication".
func consoleLogin(id string, at time.Time, failed bool) []byte {
	outcome, extra := "Success", ""
	if failed {
		outcome, extra = "Failure", `"errorMessage":"Failed authentication",`
	}
	return []byte(fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::%[1]s:user/alice","accountId":"%[1]s","userName":"alice"},`+
		`"eventTime":"%[2]s","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9",`+
		`"userAgent":"Mozilla/5.0 (X11; Linux x86_64)",%[3]s"requestParameters":null,"responseElements":{"ConsoleLogin":"%[4]s"},`+
		`"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"No"},`+
		`"eventID":"%[5]s","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"%[1]s","eventCategory":"Management"}`,
		cairntest.AccountID, at.UTC().Format(time.RFC3339), extra, outcome, id))
}

// Scenario 3, step 2, with each aws CLI: a trail feeding a log group, the metric filter with the
// scenario's exact pattern, test-metric-filter on a mixed sample, and filter-log-events finding
// exactly the failed sign-ins recorded through the trail.
func TestScenario3MetricFilterCLI(t *testing.T) {
	s := cairntest.Start(t)
	ctx := context.Background()
	// Datapoints the metric filters should publish: every logging trail feeds its own group,
	// each with the filter, so a failed sign-in counts once per trail created so far.
	failures, trails := 0, 0
	for i, bin := range []string{"aws", "/usr/bin/aws"} {
		t.Run(filepath.Base(filepath.Dir(bin))+bin, func(t *testing.T) {
			path := cairntest.Tool(t, bin)
			awsCLI := func(args ...string) (map[string]any, error) {
				t.Helper()
				cmd := exec.Command(path, append([]string{"--endpoint-url", s.Endpoint, "--output", "json"}, args...)...)
				cmd.Env = s.Env()
				out, err := cmd.Output()
				if err != nil {
					return nil, fmt.Errorf("%v: %s", err, stderrOf(err))
				}
				m := map[string]any{}
				if len(strings.TrimSpace(string(out))) > 0 {
					if err := json.Unmarshal(out, &m); err != nil {
						t.Fatalf("aws %s: %v\n%s", args[1], err, out)
					}
				}
				return m, nil
			}
			mustCLI := func(args ...string) map[string]any {
				t.Helper()
				m, err := awsCLI(args...)
				if err != nil {
					t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
				}
				return m
			}
			group := fmt.Sprintf("CloudTrail/SignIns-%d", i)
			groupARN := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", cairntest.Region, cairntest.AccountID, group)
			role := "arn:aws:iam::" + cairntest.AccountID + ":role/CloudTrail_CloudWatchLogs_Role"
			trailName := fmt.Sprintf("signins-%d", i)

			// A trail cannot feed a log group that does not exist.
			_, err := awsCLI("cloudtrail", "create-trail", "--name", trailName, "--s3-bucket-name", "signin-trail-bucket",
				"--cloud-watch-logs-log-group-arn", groupARN, "--cloud-watch-logs-role-arn", role)
			if err == nil || !strings.Contains(err.Error(), "InvalidCloudWatchLogsLogGroupArnException") || !strings.Contains(err.Error(), group) {
				t.Fatalf("create-trail with a missing log group: %v", err)
			}
			mustCLI("logs", "create-log-group", "--log-group-name", group)
			mustCLI("cloudtrail", "create-trail", "--name", trailName, "--s3-bucket-name", "signin-trail-bucket", "--enable-log-file-validation",
				"--cloud-watch-logs-log-group-arn", groupARN, "--cloud-watch-logs-role-arn", role)
			mustCLI("cloudtrail", "start-logging", "--name", trailName)
			trails++

			mustCLI("logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "ConsoleSignInFailures",
				"--filter-pattern", signInFailures,
				"--metric-transformations", "metricName=ConsoleSigninFailureCount,metricNamespace=CloudTrailMetrics,metricValue=1")
			mf := mustCLI("logs", "describe-metric-filters", "--log-group-name", group)
			filters, _ := mf["metricFilters"].([]any)
			if len(filters) != 1 || filters[0].(map[string]any)["filterPattern"] != signInFailures {
				t.Fatalf("describe-metric-filters: %v", mf)
			}

			// test-metric-filter: exactly the failed sign-ins of a mixed sample.
			now := time.Now().UTC()
			sample := []string{
				string(consoleLogin("s1", now, false)),
				string(consoleLogin("s2", now, true)),
				string(record("s3", "RunInstances", cairntest.AccountID, "us-east-1", now, "")),
				string(consoleLogin("s4", now, true)),
				`ConsoleLogin Failed authentication (plain text, not JSON)`,
			}
			tm := mustCLI(append([]string{"logs", "test-metric-filter", "--filter-pattern", signInFailures, "--log-event-messages"}, sample...)...)
			var numbers []int
			for _, m := range tm["matches"].([]any) {
				mm := m.(map[string]any)
				numbers = append(numbers, int(mm["eventNumber"].(float64)))
				if mm["eventMessage"] != sample[int(mm["eventNumber"].(float64))-1] {
					t.Errorf("match %v: eventMessage is not message %v", mm, mm["eventNumber"])
				}
			}
			if !slices.Equal(numbers, []int{2, 4}) {
				t.Errorf("test-metric-filter matched events %v; want [2 4]", numbers)
			}

			// Sign-ins recorded through native ingest reach the log group through the trail.
			var recs [][]byte
			var want []string
			for k := 0; k < 6; k++ {
				id := fmt.Sprintf("signin-%d-%d", i, k)
				failed := k%3 != 0
				recs = append(recs, consoleLogin(id, now.Add(time.Duration(k)*time.Second), failed))
				if failed {
					want = append(want, id)
				}
			}
			recs = append(recs, record(fmt.Sprintf("other-%d", i), "RunInstances", cairntest.AccountID, "us-east-1", now, ""))
			if _, err := ingestClient(s).Send(ctx, recs); err != nil {
				t.Fatal(err)
			}
			failures += len(want) * trails
			var got []string
			var last map[string]any
			cairntest.WaitFor(t, 10*time.Second, "the failed sign-ins in the log group", func() bool {
				last = mustCLI("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", signInFailures)
				got = got[:0]
				for _, e := range last["events"].([]any) {
					ev := e.(map[string]any)
					var rec struct{ EventID string }
					json.Unmarshal([]byte(ev["message"].(string)), &rec)
					got = append(got, rec.EventID)
					if ev["logStreamName"] != cairntest.AccountID+"_CloudTrail_us-east-1" {
						t.Errorf("stream %v; want %s_CloudTrail_us-east-1", ev["logStreamName"], cairntest.AccountID)
					}
				}
				return len(got) >= len(want)
			})
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("filter-log-events found %v; want exactly %v", got, want)
			}
			// Every event of the trail is there, one log event per record, timestamped with eventTime.
			all := mustCLI("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", `{ $.eventName = ConsoleLogin || $.eventID = "other-*" }`)
			if n := len(all["events"].([]any)); n != 7 {
				t.Errorf("%d ConsoleLogin and RunInstances events in the log group; want 7", n)
			}
			for _, e := range all["events"].([]any) {
				ev := e.(map[string]any)
				var rec struct{ EventTime time.Time }
				json.Unmarshal([]byte(ev["message"].(string)), &rec)
				if int64(ev["timestamp"].(float64)) != rec.EventTime.UnixMilli() {
					t.Errorf("timestamp %v; eventTime %v", ev["timestamp"], rec.EventTime)
				}
			}

			// A rejected pattern is InvalidParameterException naming the problem.
			_, err = awsCLI("logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "Broken",
				"--filter-pattern", `{ ($.eventName = ConsoleLogin) && }`,
				"--metric-transformations", "metricName=M,metricNamespace=N,metricValue=1")
			if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") || !strings.Contains(err.Error(), "column") {
				t.Errorf("put-metric-filter with a broken pattern: %v", err)
			}
			_, err = awsCLI("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", `{ $.a = "unterminated }`)
			if err == nil || !strings.Contains(err.Error(), "InvalidParameterException") {
				t.Errorf("filter-log-events with a broken pattern: %v", err)
			}
		})
	}
	// The metric filters published one datapoint of 1 per failed sign-in and group into CloudWatch metrics.
	if failures == 0 {
		return
	}
	cwc := cloudwatch.NewFromConfig(s.AWSConfig())
	now := time.Now()
	st, err := cwc.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("CloudTrailMetrics"), MetricName: aws.String("ConsoleSigninFailureCount"),
		StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Minute)), Period: aws.Int32(3600),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticSampleCount}})
	if err != nil {
		t.Fatal(err)
	}
	var sum, count float64
	for _, d := range st.Datapoints {
		sum += aws.ToFloat64(d.Sum)
		count += aws.ToFloat64(d.SampleCount)
	}
	if sum != float64(failures) || count != float64(failures) {
		t.Errorf("ConsoleSigninFailureCount: Sum %v, SampleCount %v; want %d of each (%+v)", sum, count, failures, st.Datapoints)
	}
}

// logsClient is an aws-sdk-go-v2 CloudWatch Logs client for the server.
func logsClient(s *cairntest.Server) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(s.AWSConfig())
}

// Every other operation through aws-sdk-go-v2's cloudwatchlogs client.
func TestLogsOperationsSDK(t *testing.T) {
	s := cairntest.Start(t)
	ctx := context.Background()
	c := logsClient(s)
	group := "app/sdk"
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group), Tags: map[string]string{"team": "sec"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); apiCode(err) != "ResourceAlreadyExistsException" {
		t.Errorf("duplicate CreateLogGroup: %v", err)
	}
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad name")}); apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "logGroupName") {
		t.Errorf("CreateLogGroup with a bad name: %v", err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(4)}); apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "retentionInDays") {
		t.Errorf("PutRetentionPolicy 4: %v", err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	dg, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("app/")})
	if err != nil || len(dg.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups: %+v %v", dg, err)
	}
	g := dg.LogGroups[0]
	wantARN := "arn:aws:logs:us-east-1:" + cairntest.AccountID + ":log-group:" + group
	if aws.ToInt32(g.RetentionInDays) != 30 || aws.ToString(g.Arn) != wantARN+":*" || aws.ToString(g.LogGroupArn) != wantARN || aws.ToInt64(g.CreationTime) == 0 {
		t.Errorf("log group: %+v", g)
	}

	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web-1")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	var events []types.InputLogEvent
	for k := 0; k < 30; k++ {
		events = append(events, types.InputLogEvent{Timestamp: aws.Int64(now - 30 + int64(k)), Message: aws.String(fmt.Sprintf(`{"status":%d,"bytes":%d,"path":"/p/%d"}`, 200+k%2*300, k*100, k))})
	}
	pr, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web-1"), LogEvents: events})
	if err != nil || pr.RejectedLogEventsInfo != nil {
		t.Fatalf("PutLogEvents: %+v %v", pr, err)
	}
	old := []types.InputLogEvent{{Timestamp: aws.Int64(now - 20*24*3600*1000), Message: aws.String("too old")}, {Timestamp: aws.Int64(now), Message: aws.String("fine")}}
	pr, err = c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web-1"), LogEvents: old})
	if err != nil || pr.RejectedLogEventsInfo == nil || aws.ToInt32(pr.RejectedLogEventsInfo.TooOldLogEventEndIndex) != 0 {
		t.Fatalf("PutLogEvents with an old event: %+v %v", pr, err)
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("nope"), LogEvents: old[1:]}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("PutLogEvents to a missing stream: %v", err)
	}

	// FilterLogEvents with the paginator, 7 events a page.
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`{ $.status >= 500 }`), Limit: aws.Int32(7)})
	n, pages := 0, 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Events {
			n++
			if aws.ToString(e.LogStreamName) != "web-1" || aws.ToString(e.EventId) == "" || !strings.Contains(aws.ToString(e.Message), `"status":500`) {
				t.Errorf("event %+v", e)
			}
		}
	}
	if n != 15 || pages != 3 {
		t.Errorf("FilterLogEvents: %d events in %d pages; want 15 in 3", n, pages)
	}
	ge, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web-1"), StartFromHead: aws.Bool(true), Limit: aws.Int32(10)})
	if err != nil || len(ge.Events) != 10 || aws.ToString(ge.Events[0].Message) != aws.ToString(events[0].Message) {
		t.Fatalf("GetLogEvents: %v %v", ge, err)
	}
	ge2, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web-1"), NextToken: ge.NextForwardToken, Limit: aws.Int32(10)})
	if err != nil || len(ge2.Events) != 10 || aws.ToString(ge2.Events[0].Message) != aws.ToString(events[10].Message) {
		t.Fatalf("GetLogEvents page 2: %v %v", ge2, err)
	}
	ds, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil || len(ds.LogStreams) != 1 || aws.ToInt64(ds.LogStreams[0].LastEventTimestamp) != now || aws.ToInt64(ds.LogStreams[0].FirstEventTimestamp) != now-30 {
		t.Fatalf("DescribeLogStreams: %+v %v", ds, err)
	}

	// Metric filters.
	def := 0.0
	_, err = c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("ServerErrors"),
		FilterPattern: aws.String(`{ $.status >= 500 }`), MetricTransformations: []types.MetricTransformation{{
			MetricName: aws.String("ServerErrors"), MetricNamespace: aws.String("App"), MetricValue: aws.String("1"), DefaultValue: &def}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("Bytes"),
		FilterPattern: aws.String(`{ $.bytes = * }`), MetricTransformations: []types.MetricTransformation{{
			MetricName: aws.String("Bytes"), MetricNamespace: aws.String("App"), MetricValue: aws.String("$.bytes"), Unit: types.StandardUnitBytes,
			Dimensions: map[string]string{"Path": "$.path"}}}})
	if err != nil {
		t.Fatal(err)
	}
	mf, err := c.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(group)})
	if err != nil || len(mf.MetricFilters) != 2 || aws.ToString(mf.MetricFilters[0].FilterName) != "Bytes" ||
		mf.MetricFilters[0].MetricTransformations[0].Unit != types.StandardUnitBytes || aws.ToFloat64(mf.MetricFilters[1].MetricTransformations[0].DefaultValue) != 0 {
		t.Fatalf("DescribeMetricFilters: %+v %v", mf, err)
	}
	for _, bad := range []struct{ pattern, value, words string }{
		{`{ $.status >= }`, "1", "column"},
		{`{ $.status = 1 `, "1", "column"},
		{`[a, b`, "1", "column"},
		{`%unclosed`, "1", "column"},
		{`{ $.status = 1 }`, "$.nope[*]", "wildcard"},
		{`{ $.status = 1 }`, "ten", "ten"},
	} {
		_, err := c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("Bad"),
			FilterPattern: aws.String(bad.pattern), MetricTransformations: []types.MetricTransformation{{
				MetricName: aws.String("M"), MetricNamespace: aws.String("N"), MetricValue: aws.String(bad.value)}}})
		if apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), bad.words) {
			t.Errorf("PutMetricFilter %q value %q: %v; want InvalidParameterException mentioning %q", bad.pattern, bad.value, err, bad.words)
		}
	}
	tm, err := c.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{FilterPattern: aws.String(`[ip, user, status = 5*, bytes]`),
		LogEventMessages: []string{"10.0.0.1 bob 200 512", "10.0.0.2 amy 503 17"}})
	if err != nil || len(tm.Matches) != 1 || tm.Matches[0].EventNumber != 2 || tm.Matches[0].ExtractedValues["$status"] != "503" {
		t.Fatalf("TestMetricFilter: %+v %v", tm, err)
	}
	if _, err := c.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("Bytes")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("Bytes")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("DeleteMetricFilter twice: %v", err)
	}

	// Tags, both generations of the API.
	if _, err := c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(wantARN), Tags: map[string]string{"env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagLogGroup(ctx, &cloudwatchlogs.UntagLogGroupInput{LogGroupName: aws.String(group), Tags: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(wantARN)})
	if err != nil || len(lt.Tags) != 1 || lt.Tags["env"] != "prod" {
		t.Errorf("ListTagsForResource: %+v %v", lt, err)
	}
	if _, err := c.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(wantARN), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if lg, err := c.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String(group)}); err != nil || len(lg.Tags) != 0 {
		t.Errorf("ListTagsLogGroup: %+v %v", lg, err)
	}

	if _, err := c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("web-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("DescribeLogStreams of a deleted group: %v", err)
	}
	// Log group validation by UpdateTrail too.
	ct := cloudtrail.NewFromConfig(s.AWSConfig())
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("sdk-trail"), S3BucketName: aws.String("sdk-logs-bucket")}); err != nil {
		t.Fatal(err)
	}
	_, err = ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("sdk-trail"), CloudWatchLogsLogGroupArn: aws.String(wantARN + ":*"),
		CloudWatchLogsRoleArn: aws.String("arn:aws:iam::" + cairntest.AccountID + ":role/r")})
	if apiCode(err) != "InvalidCloudWatchLogsLogGroupArnException" || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("UpdateTrail to a deleted log group: %v", err)
	}
}

// cairn monitor enable-cis installs the fifteen CIS metric filters; running it again changes nothing.
func TestMonitorEnableCIS(t *testing.T) {
	s := cairntest.Start(t)
	ctx := context.Background()
	c := logsClient(s)
	run := func() (string, error) {
		cmd := exec.Command(cairntest.Binary(t), "monitor", "enable-cis", "--log-group", "CloudTrail/Default")
		cmd.Env = s.Env()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err == nil || !strings.Contains(out, "does not exist") {
		t.Errorf("enable-cis without the log group: %v\n%s", err, out)
	}
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("CloudTrail/Default")}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		if out, err := run(); err != nil {
			t.Fatalf("enable-cis: %v\n%s", err, out)
		}
		mf, err := c.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("CloudTrail/Default")})
		if err != nil || len(mf.MetricFilters) != 15 {
			t.Fatalf("round %d: %d metric filters, %v; want 15", round, len(mf.MetricFilters), err)
		}
		for _, f := range mf.MetricFilters {
			if ns := aws.ToString(f.MetricTransformations[0].MetricNamespace); ns != "CISBenchmark" || aws.ToString(f.MetricTransformations[0].MetricValue) != "1" {
				t.Errorf("%s: namespace %s", aws.ToString(f.FilterName), ns)
			}
		}
	}
	mf, _ := c.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{MetricName: aws.String("ConsoleAuthenticationFailures"), MetricNamespace: aws.String("CISBenchmark")})
	if len(mf.MetricFilters) != 1 || aws.ToString(mf.MetricFilters[0].FilterPattern) != signInFailures {
		t.Errorf("CIS 4.6: %+v", mf.MetricFilters)
	}
}

// The trail → log group feed commits its journal position with the events it adds: killed and
// restarted, it neither loses nor repeats an event.
func TestTrailFeedExactlyOnceAcrossKill(t *testing.T) {
	s := cairntest.Start(t)
	ctx := context.Background()
	c := logsClient(s)
	group := "CloudTrail/Feed"
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	ct := cloudtrail.NewFromConfig(s.AWSConfig())
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("feed"), S3BucketName: aws.String("feed-bucket"),
		CloudWatchLogsLogGroupArn: aws.String(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", cairntest.Region, cairntest.AccountID, group)),
		CloudWatchLogsRoleArn:     aws.String("arn:aws:iam::" + cairntest.AccountID + ":role/CloudTrail_CloudWatchLogs_Role")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("feed")}); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		var out []string
		p := cloudwatchlogs.NewFilterLogEventsPaginator(logsClient(s), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(`{ $.eventName = ConsoleLogin }`)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				var rec struct{ EventID string }
				json.Unmarshal([]byte(aws.ToString(e.Message)), &rec)
				out = append(out, rec.EventID)
			}
		}
		return out
	}
	send := func(round, n int) {
		var recs [][]byte
		for k := 0; k < n; k++ {
			recs = append(recs, consoleLogin(fmt.Sprintf("feed-%d-%03d", round, k), time.Now(), k%2 == 0))
		}
		if _, err := ingestClient(s).Send(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	send(0, 200)
	s.Kill() // possibly before the feed has read them all
	s.Restart()
	send(1, 200)
	var got []string
	cairntest.WaitFor(t, 20*time.Second, "400 sign-ins in the log group", func() bool { got = ids(); return len(got) >= 400 })
	time.Sleep(300 * time.Millisecond)
	got = ids()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("event %s is in the log group twice", id)
		}
		seen[id] = true
	}
	if len(got) != 400 {
		t.Errorf("%d events in the log group; want 400", len(got))
	}
}

// Every pattern the conformance tables reject is refused over the API with
// InvalidParameterException and a message naming the problem, by TestMetricFilter,
// PutMetricFilter and FilterLogEvents alike.
func TestRejectedPatternsOverAPI(t *testing.T) {
	s := cairntest.Start(t)
	ctx := context.Background()
	c := logsClient(s)
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("patterns")}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../internal/pattern/testdata/*.jsonl")
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			var row struct {
				P   string
				M   any
				Err string
				Col int
			}
			if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &row) != nil || row.M != "reject" {
				continue
			}
			n++
			where := fmt.Sprintf("%s:%d %q", filepath.Base(f), i+1, row.P)
			check := func(op string, err error) {
				if apiCode(err) != "InvalidParameterException" {
					t.Errorf("%s: %s: %v; want InvalidParameterException", where, op, err)
					return
				}
				if row.Err != "" && !strings.Contains(err.Error(), row.Err) {
					t.Errorf("%s: %s: %v does not say %q", where, op, err, row.Err)
				}
				if row.Col > 0 && !strings.Contains(err.Error(), fmt.Sprintf("column %d", row.Col)) {
					t.Errorf("%s: %s: %v does not name column %d", where, op, err, row.Col)
				}
			}
			_, err := c.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{FilterPattern: aws.String(row.P), LogEventMessages: []string{"x"}})
			check("TestMetricFilter", err)
			_, err = c.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("patterns"), FilterName: aws.String("f"),
				FilterPattern: aws.String(row.P), MetricTransformations: []types.MetricTransformation{{
					MetricName: aws.String("M"), MetricNamespace: aws.String("N"), MetricValue: aws.String("1")}}})
			check("PutMetricFilter", err)
			_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("patterns"), FilterPattern: aws.String(row.P)})
			check("FilterLogEvents", err)
		}
	}
	if n < 100 {
		t.Errorf("only %d rejected patterns in the conformance tables", n)
	}
}

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// cwClient drives CloudWatch through one client; each speaks a different protocol.
type cwClient interface {
	putAlarm(t *testing.T)
	putData(t *testing.T, value float64)
	state(t *testing.T) (value, reason string)
	history(t *testing.T) []string // "type: summary", newest first
	sum(t *testing.T, start, end time.Time) float64
	badAlarm(t *testing.T) string // the error code of an alarm with an invalid statistic
}

const (
	alarmName   = "Console sign-in failures"
	alarmDesc   = "Raises alarms if more than 2 console sign-in failures occur in 5 minutes"
	cwNamespace = "CloudTrailMetrics"
	cwMetric    = "ConsoleSigninFailureCount"
)

// The scenario's alarm, created through aws-sdk-go-v2 (RPC v2 CBOR), the machine's aws CLI
// (JSON 1.0) and Debian's aws CLI (awsQuery), behaves the same through each: one failure leaves it
// OK, the second moves it to ALARM within seconds, history shows the transition and
// GetMetricStatistics returns the sum. Each client works in its own region, so the three do not
// share metrics.
func TestCloudWatchAlarmThreeClients(t *testing.T) {
	s := cairntest.Start(t)
	clients := []struct {
		name, region string
		make         func(t *testing.T, region string) cwClient
	}{
		{"aws-sdk-go-v2 (CBOR)", "us-east-1", func(t *testing.T, region string) cwClient { return newSDKClient(t, s, region) }},
		{"aws CLI v1 (JSON 1.0)", "eu-west-1", func(t *testing.T, region string) cwClient {
			return &cliClient{s: s, path: cairntest.Tool(t, "aws"), region: region}
		}},
		{"Debian aws CLI v2 (query)", "ap-southeast-2", func(t *testing.T, region string) cwClient {
			return &cliClient{s: s, path: cairntest.Tool(t, "/usr/bin/aws"), region: region}
		}},
	}
	for _, tc := range clients {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.make(t, tc.region)
			if code := c.badAlarm(t); code != "InvalidParameterValue" {
				t.Errorf("alarm with statistic Median: error code %q, want InvalidParameterValue", code)
			}
			start := time.Now().Add(-time.Minute).Truncate(time.Minute)
			c.putAlarm(t)
			if st, reason := c.state(t); st != "OK" {
				t.Fatalf("new alarm with notBreaching and no data: %s (%s), want OK", st, reason)
			}
			c.putData(t, 1)
			if st, reason := c.state(t); st != "OK" {
				t.Fatalf("after one failure: %s (%s), want OK", st, reason)
			}
			sent := time.Now()
			c.putData(t, 1)
			cairntest.WaitFor(t, 60*time.Second, "ALARM", func() bool { st, _ := c.state(t); return st == "ALARM" })
			// The CLIs take a second or more to start; the latency itself is measured by cairn bench alarm.
			t.Logf("%s: second datapoint → ALARM observed after %v", tc.name, time.Since(sent))
			_, reason := c.state(t)
			if !strings.HasPrefix(reason, "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (") ||
				!strings.HasSuffix(reason, "was greater than or equal to the threshold (2.0) (minimum 1 datapoint for OK -> ALARM transition).") {
				t.Errorf("reason %q", reason)
			}
			h := c.history(t)
			found := false
			for _, item := range h {
				if item == "StateUpdate: Alarm updated from OK to ALARM" {
					found = true
				}
			}
			if !found || h[len(h)-1] != `ConfigurationUpdate: Alarm "Console sign-in failures" created` {
				t.Errorf("history %q", h)
			}
			if sum := c.sum(t, start, time.Now().Add(time.Minute)); sum != 2 {
				t.Errorf("GetMetricStatistics sum %v, want 2", sum)
			}
		})
	}

	// Every call was recorded as a CloudTrail event from monitoring.amazonaws.com.
	ct := cloudtrail.NewFromConfig(s.AWSConfig())
	cairntest.WaitFor(t, 10*time.Second, "PutMetricAlarm in event history", func() bool {
		out, err := ct.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
			{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("monitoring.amazonaws.com")}}})
		if err != nil {
			return false
		}
		for _, e := range out.Events {
			if aws.ToString(e.EventName) == "PutMetricAlarm" {
				return true
			}
		}
		return false
	})
}

// ---- aws-sdk-go-v2 ----

type sdkClient struct {
	c      *cloudwatch.Client
	region string
}

// pathRecorder checks that the SDK really speaks RPC v2 CBOR.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path+" "+r.Header.Get("Smithy-Protocol"))
	p.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func newSDKClient(t *testing.T, s *cairntest.Server, region string) *sdkClient {
	rec := &pathRecorder{}
	cfg := s.AWSConfig()
	cfg.Region = region
	cfg.HTTPClient = &http.Client{Transport: rec}
	t.Cleanup(func() {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, p := range rec.paths {
			if !strings.HasPrefix(p, "/service/GraniteServiceVersion20100801/operation/") || !strings.HasSuffix(p, " rpc-v2-cbor") {
				t.Errorf("SDK request %q is not RPC v2 CBOR", p)
			}
		}
	})
	return &sdkClient{c: cloudwatch.NewFromConfig(cfg), region: region}
}

func (c *sdkClient) alarmInput(stat types.Statistic) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(alarmName), AlarmDescription: aws.String(alarmDesc),
		MetricName: aws.String(cwMetric), Namespace: aws.String(cwNamespace), Statistic: stat, Period: aws.Int32(300),
		EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(2), ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		TreatMissingData: aws.String("notBreaching"), AlarmActions: []string{"arn:aws:sns:" + c.region + ":" + cairntest.AccountID + ":sec-alerts"}}
}

func (c *sdkClient) badAlarm(t *testing.T) string {
	_, err := c.c.PutMetricAlarm(context.Background(), c.alarmInput("Median"))
	return apiCode(err)
}

func (c *sdkClient) putAlarm(t *testing.T) {
	if _, err := c.c.PutMetricAlarm(context.Background(), c.alarmInput(types.StatisticSum)); err != nil {
		t.Fatal(err)
	}
}

func (c *sdkClient) putData(t *testing.T, v float64) {
	if _, err := c.c.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(cwNamespace),
		MetricData: []types.MetricDatum{{MetricName: aws.String(cwMetric), Value: aws.Float64(v), Timestamp: aws.Time(time.Now())}}}); err != nil {
		t.Fatal(err)
	}
}

func (c *sdkClient) state(t *testing.T) (string, string) {
	out, err := c.c.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarmName}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms: %d alarms", len(out.MetricAlarms))
	}
	a := out.MetricAlarms[0]
	if aws.ToString(a.AlarmDescription) != alarmDesc || aws.ToFloat64(a.Threshold) != 2 || aws.ToInt32(a.Period) != 300 || a.StateUpdatedTimestamp == nil {
		t.Errorf("alarm %+v", a)
	}
	return string(a.StateValue), aws.ToString(a.StateReason)
}

func (c *sdkClient) history(t *testing.T) []string {
	out, err := c.c.DescribeAlarmHistory(context.Background(), &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String(alarmName)})
	if err != nil {
		t.Fatal(err)
	}
	var h []string
	for _, i := range out.AlarmHistoryItems {
		h = append(h, string(i.HistoryItemType)+": "+aws.ToString(i.HistorySummary))
	}
	return h
}

func (c *sdkClient) sum(t *testing.T, start, end time.Time) float64 {
	out, err := c.c.GetMetricStatistics(context.Background(), &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String(cwNamespace),
		MetricName: aws.String(cwMetric), StartTime: aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(3600), Statistics: []types.Statistic{types.StatisticSum}})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, d := range out.Datapoints {
		sum += aws.ToFloat64(d.Sum)
	}
	return sum
}

// ---- the aws CLIs ----

type cliClient struct {
	s      *cairntest.Server
	path   string
	region string
}

func (c *cliClient) run(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(c.path, append([]string{"--endpoint-url", c.s.Endpoint, "--region", c.region, "--output", "json", "cloudwatch"}, args...)...)
	cmd.Env = c.s.Env()
	return cmd.Output()
}

func (c *cliClient) must(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := c.run(t, args...)
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s", c.path, args, err, msg)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %v: %v\n%s", c.path, args, err, out)
		}
	}
}

func (c *cliClient) alarmArgs(stat string) []string {
	return []string{"put-metric-alarm", "--alarm-name", alarmName, "--alarm-description", alarmDesc, "--metric-name", cwMetric,
		"--namespace", cwNamespace, "--statistic", stat, "--period", "300", "--evaluation-periods", "1", "--threshold", "2",
		"--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", "notBreaching",
		"--alarm-actions", "arn:aws:sns:" + c.region + ":" + cairntest.AccountID + ":sec-alerts"}
}

func (c *cliClient) badAlarm(t *testing.T) string {
	_, err := c.run(t, c.alarmArgs("Median")...)
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return fmt.Sprint(err)
	}
	msg := string(ee.Stderr)
	if i, j := strings.Index(msg, "("), strings.Index(msg, ")"); i >= 0 && j > i {
		return msg[i+1 : j]
	}
	return msg
}

func (c *cliClient) putAlarm(t *testing.T) { c.must(t, nil, c.alarmArgs("Sum")...) }

func (c *cliClient) putData(t *testing.T, v float64) {
	c.must(t, nil, "put-metric-data", "--namespace", cwNamespace, "--metric-name", cwMetric, "--value", fmt.Sprint(v))
}

func (c *cliClient) state(t *testing.T) (string, string) {
	var out struct {
		MetricAlarms []struct {
			StateValue, StateReason, AlarmDescription string
			Threshold                                 float64
		}
	}
	c.must(t, &out, "describe-alarms", "--alarm-names", alarmName)
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("describe-alarms: %d alarms", len(out.MetricAlarms))
	}
	a := out.MetricAlarms[0]
	if a.AlarmDescription != alarmDesc || a.Threshold != 2 {
		t.Errorf("alarm %+v", a)
	}
	return a.StateValue, a.StateReason
}

func (c *cliClient) history(t *testing.T) []string {
	var out struct {
		AlarmHistoryItems []struct{ HistoryItemType, HistorySummary string }
	}
	c.must(t, &out, "describe-alarm-history", "--alarm-name", alarmName)
	var h []string
	for _, i := range out.AlarmHistoryItems {
		h = append(h, i.HistoryItemType+": "+i.HistorySummary)
	}
	return h
}

func (c *cliClient) sum(t *testing.T, start, end time.Time) float64 {
	var out struct {
		Datapoints []struct{ Sum float64 }
	}
	c.must(t, &out, "get-metric-statistics", "--namespace", cwNamespace, "--metric-name", cwMetric,
		"--start-time", start.UTC().Format(time.RFC3339), "--end-time", end.UTC().Format(time.RFC3339), "--period", "3600", "--statistics", "Sum")
	var sum float64
	for _, d := range out.Datapoints {
		sum += d.Sum
	}
	return sum
}

package api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/fxamacker/cbor/v2"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/meta"
	cw "github.com/cairn-dev/cairn/internal/metrics"
)

type oneKey struct{}

func (oneKey) Authorize(context.Context, iam.Principal, string, string) (iam.Decision, error) {
	return iam.Allowed, nil
}

func (oneKey) Lookup(ctx context.Context, id string) (iam.Principal, string, error) {
	return iam.Principal{AccountID: "111122223333", AccessKeyID: id}, "secret", nil
}

func cloudwatchServer(t *testing.T) *httptest.Server {
	db, err := meta.Open(context.Background(), filepath.Join(t.TempDir(), "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := cw.Open(context.Background(), db, cw.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(Config{Accounts: oneKey{}, Metrics: store, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(ts.Close)
	return ts
}

// signedPost posts body to the monitoring service, signed.
func signedPost(t *testing.T, url string, body []byte, headers map[string]string) *http.Response {
	t.Helper()
	return signedAs(t, url, "monitoring", body, headers)
}

// Each protocol gets the same operation and its own error shape: awsQuery XML with the query
// code; JSON and CBOR with the shape name in __type and the query code in x-amzn-query-error.
func TestCloudWatchProtocols(t *testing.T) {
	ts := cloudwatchServer(t)
	alarm := map[string]any{"AlarmName": "a", "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 60,
		"EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}

	// JSON 1.0
	b, _ := json.Marshal(alarm)
	resp := signedPost(t, ts.URL+"/", b, map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricAlarm", "Content-Type": "application/x-amz-json-1.0"})
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("JSON PutMetricAlarm: %d %s", resp.StatusCode, body)
	}
	resp = signedPost(t, ts.URL+"/", []byte(`{"AlarmNames":["nope"]}`), map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.DeleteAlarms", "Content-Type": "application/x-amz-json-1.0"})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || resp.Header.Get("x-amzn-query-error") != "ResourceNotFound;Sender" || !strings.Contains(string(body), `"__type":"ResourceNotFound"`) {
		t.Errorf("JSON error: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp = signedPost(t, ts.URL+"/", []byte(`{"Namespace":"N","MetricData":[{"MetricName":"M","Value":"x"}]}`), map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData", "Content-Type": "application/x-amz-json-1.0"})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-query-error") != "InvalidParameterValue;Sender" || !strings.Contains(string(body), "MetricData.Value") {
		t.Errorf("JSON type error: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// awsQuery
	resp = signedPost(t, ts.URL+"/", []byte("Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=a"), map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
	body, _ = io.ReadAll(resp.Body)
	var described struct {
		Result struct {
			MetricAlarms []struct {
				AlarmName  string
				StateValue string
				Threshold  float64
			} `xml:"MetricAlarms>member"`
		} `xml:"DescribeAlarmsResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(body, &described); err != nil || len(described.Result.MetricAlarms) != 1 || described.Result.MetricAlarms[0].Threshold != 1 || described.RequestID == "" {
		t.Errorf("query DescribeAlarms: %v %s", err, body)
	}
	resp = signedPost(t, ts.URL+"/", []byte("Action=PutMetricData&Version=2010-08-01&Namespace=AWS/EC2&MetricData.member.1.MetricName=M&MetricData.member.1.Value=1"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidParameterValue</Code>") || !strings.Contains(string(body), "<Type>Sender</Type>") {
		t.Errorf("query error: %d %s", resp.StatusCode, body)
	}
	resp = signedPost(t, ts.URL+"/", []byte("Action=Frobnicate&Version=2010-08-01"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidAction</Code>") {
		t.Errorf("query unknown action: %d %s", resp.StatusCode, body)
	}

	// RPC v2 CBOR
	cb, _ := cbor.Marshal(map[string]any{"AlarmNames": []string{"a"}})
	resp = signedPost(t, ts.URL+"/service/GraniteServiceVersion20100801/operation/DescribeAlarms", cb, map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})
	body, _ = io.ReadAll(resp.Body)
	var out struct{ MetricAlarms []map[string]any }
	if err := cbor.Unmarshal(body, &out); err != nil || resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || len(out.MetricAlarms) != 1 {
		t.Fatalf("CBOR DescribeAlarms: %v %v %x", err, resp.Header, body)
	}
	// The decoder turns only tags 0 and 1 into time.Time.
	if _, ok := out.MetricAlarms[0]["StateUpdatedTimestamp"].(time.Time); !ok {
		t.Errorf("CBOR timestamp is %T %v, want tag 1", out.MetricAlarms[0]["StateUpdatedTimestamp"], out.MetricAlarms[0]["StateUpdatedTimestamp"])
	}
	cb, _ = cbor.Marshal(map[string]any{"AlarmName": "a", "StateValue": "PANIC", "StateReason": "x"})
	resp = signedPost(t, ts.URL+"/service/GraniteServiceVersion20100801/operation/SetAlarmState", cb, map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})
	body, _ = io.ReadAll(resp.Body)
	var cerr map[string]string
	if err := cbor.Unmarshal(body, &cerr); err != nil || resp.StatusCode != 400 || cerr["__type"] != "InvalidParameterValueException" ||
		resp.Header.Get("X-Amzn-Query-Error") != "InvalidParameterValue;Sender" || !strings.Contains(cerr["message"], "StateValue") {
		t.Errorf("CBOR error: %d %v %v", resp.StatusCode, resp.Header, cerr)
	}
}

// The operations the alarm scenario does not reach, through aws-sdk-go-v2 (RPC v2 CBOR):
// ListMetrics, GetMetricData, DescribeAlarmsForMetric, Disable/EnableAlarmActions, DeleteAlarms.
func TestCloudWatchOperationsSDK(t *testing.T) {
	ts := cloudwatchServer(t)
	ctx := context.Background()
	c := cloudwatch.New(cloudwatch.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	now := time.Now().UTC().Truncate(time.Minute)
	dim := func(v string) []cwtypes.Dimension {
		return []cwtypes.Dimension{{Name: aws.String("User"), Value: aws.String(v)}}
	}
	for i, v := range []float64{1, 2, 3} {
		if _, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("CloudTrailMetrics"), MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("Failures"), Dimensions: dim("alice"), Value: aws.Float64(v), Timestamp: aws.Time(now.Add(-time.Duration(i) * time.Minute))},
			{MetricName: aws.String("Failures"), Dimensions: dim("bob"), Value: aws.Float64(10 * v), Timestamp: aws.Time(now)},
			{MetricName: aws.String("Other"), Value: aws.Float64(v), Timestamp: aws.Time(now)},
		}}); err != nil {
			t.Fatal(err)
		}
	}

	lm, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("CloudTrailMetrics"), MetricName: aws.String("Failures")})
	if err != nil || len(lm.Metrics) != 2 {
		t.Fatalf("ListMetrics by name: %+v %v", lm, err)
	}
	lm, err = c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("CloudTrailMetrics"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("User"), Value: aws.String("alice")}}})
	if err != nil || len(lm.Metrics) != 1 || aws.ToString(lm.Metrics[0].Dimensions[0].Value) != "alice" {
		t.Errorf("ListMetrics by dimension: %+v %v", lm, err)
	}

	gd, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-10 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("alice"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Sum"),
			Metric: &cwtypes.Metric{Namespace: aws.String("CloudTrailMetrics"), MetricName: aws.String("Failures"), Dimensions: dim("alice")}}},
			{Id: aws.String("bob"), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(600), Stat: aws.String("Maximum"),
				Metric: &cwtypes.Metric{Namespace: aws.String("CloudTrailMetrics"), MetricName: aws.String("Failures"), Dimensions: dim("bob")}}}}})
	if err != nil || len(gd.MetricDataResults) != 2 {
		t.Fatalf("GetMetricData: %+v %v", gd, err)
	}
	for _, r := range gd.MetricDataResults {
		total := 0.0
		for _, v := range r.Values {
			total += v
		}
		switch id := aws.ToString(r.Id); {
		case id == "alice" && (len(r.Values) != 3 || total != 6 || r.StatusCode != cwtypes.StatusCodeComplete):
			t.Errorf("GetMetricData alice: %+v", r)
		case id == "bob" && (len(r.Values) != 1 || r.Values[0] != 30):
			t.Errorf("GetMetricData bob: %+v", r)
		}
	}

	for _, name := range []string{"alice", "bob"} {
		if _, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("failures " + name), Namespace: aws.String("CloudTrailMetrics"),
			MetricName: aws.String("Failures"), Dimensions: dim(name), Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(2), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
			t.Fatal(err)
		}
	}
	fm, err := c.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("CloudTrailMetrics"),
		MetricName: aws.String("Failures"), Dimensions: dim("bob"), Statistic: cwtypes.StatisticSum})
	if err != nil || len(fm.MetricAlarms) != 1 || aws.ToString(fm.MetricAlarms[0].AlarmName) != "failures bob" || fm.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm {
		t.Errorf("DescribeAlarmsForMetric: %+v %v", fm, err)
	}
	if fm, _ := c.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("CloudTrailMetrics"),
		MetricName: aws.String("Failures"), Dimensions: dim("bob"), Statistic: cwtypes.StatisticMaximum}); fm == nil || len(fm.MetricAlarms) != 0 {
		t.Errorf("DescribeAlarmsForMetric with another statistic: %+v", fm)
	}

	actions := func() map[string]bool {
		out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("failures ")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, a := range out.MetricAlarms {
			m[aws.ToString(a.AlarmName)] = aws.ToBool(a.ActionsEnabled)
		}
		return m
	}
	if _, err := c.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"failures alice"}}); err != nil {
		t.Fatal(err)
	}
	if got := actions(); got["failures alice"] || !got["failures bob"] {
		t.Errorf("after DisableAlarmActions: %v", got)
	}
	if _, err := c.EnableAlarmActions(ctx, &cloudwatch.EnableAlarmActionsInput{AlarmNames: []string{"failures alice"}}); err != nil {
		t.Fatal(err)
	}
	if got := actions(); !got["failures alice"] {
		t.Errorf("after EnableAlarmActions: %v", got)
	}
	if _, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"failures alice", "failures bob"}}); err != nil {
		t.Fatal(err)
	}
	if got := actions(); len(got) != 0 {
		t.Errorf("after DeleteAlarms: %v", got)
	}
}

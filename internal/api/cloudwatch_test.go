package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fxamacker/cbor/v2"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/meta"
	cw "github.com/cairn-dev/cairn/internal/metrics"
)

type oneKey struct{}

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

func signedPost(t *testing.T, url string, body []byte, headers map[string]string) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
		req, hex.EncodeToString(sum[:]), "monitoring", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
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

package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/meta"
	cw "github.com/cairn-dev/cairn/internal/metrics"
)

func TestResourceARNs(t *testing.T) {
	const acct, region = "111122223333", "us-east-1"
	tests := []struct {
		prefix, op string
		f          resourceFields
		want       string
	}{
		{"cloudtrail", "CreateTrail", resourceFields{Name: "x"}, "arn:aws:cloudtrail:us-east-1:111122223333:trail/x"},
		{"cloudtrail", "StartLogging", resourceFields{Name: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/y"}, "arn:aws:cloudtrail:eu-west-1:111122223333:trail/y"},
		{"cloudtrail", "PutEventSelectors", resourceFields{TrailName: "x"}, "arn:aws:cloudtrail:us-east-1:111122223333:trail/x"},
		{"cloudtrail", "CreateEventDataStore", resourceFields{Name: "store"}, "*"},
		{"cloudtrail", "GetEventDataStore", resourceFields{EventDataStore: "abc"}, "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/abc"},
		{"cloudtrail", "AddTags", resourceFields{ResourceID: "arn:aws:cloudtrail:us-east-1:111122223333:trail/x"}, "arn:aws:cloudtrail:us-east-1:111122223333:trail/x"},
		{"cloudtrail", "LookupEvents", resourceFields{}, "*"},
		{"logs", "CreateLogGroup", resourceFields{LogGroupName: "app"}, "arn:aws:logs:us-east-1:111122223333:log-group:app"},
		{"logs", "PutLogEvents", resourceFields{LogGroupName: "app", LogStreamName: "s"}, "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:s"},
		{"cloudwatch", "PutMetricAlarm", resourceFields{AlarmName: "high"}, "arn:aws:cloudwatch:us-east-1:111122223333:alarm:high"},
		{"cloudwatch", "PutMetricData", resourceFields{}, "*"},
		{"sns", "CreateTopic", resourceFields{Name: "t"}, "arn:aws:sns:us-east-1:111122223333:t"},
		{"sns", "Publish", resourceFields{TopicARN: "arn:aws:sns:us-east-1:111122223333:t"}, "arn:aws:sns:us-east-1:111122223333:t"},
		{"sns", "Unsubscribe", resourceFields{SubscriptionARN: "arn:aws:sns:us-east-1:111122223333:t:4f1c2b9e-7a61-4c3e-9d0b-2a4f5e6c7d8e"}, "arn:aws:sns:us-east-1:111122223333:t"},
		{"sns", "Unsubscribe", resourceFields{SubscriptionARN: "pending confirmation"}, "*"},
		{"cloudwatch", "DeleteAlarms", resourceFields{AlarmNames: []string{"a", "b"}}, "arn:aws:cloudwatch:us-east-1:111122223333:alarm:a arn:aws:cloudwatch:us-east-1:111122223333:alarm:b"},
		{"cloudtrail-data", "PutAuditEvents", resourceFields{ChannelARN: "arn:aws:cloudtrail:us-east-1:111122223333:channel/c"}, "arn:aws:cloudtrail:us-east-1:111122223333:channel/c"},
	}
	for _, tt := range tests {
		if got := strings.Join(resourceARNs(tt.prefix, tt.op, region, acct, tt.f), " "); got != tt.want {
			t.Errorf("resourceARNs(%s:%s, %+v) = %s, want %s", tt.prefix, tt.op, tt.f, got, tt.want)
		}
	}
}

// aliceOnly knows one user, alice, whose policies are given.
type aliceOnly struct{ policies []*iam.Policy }

func (aliceOnly) Lookup(ctx context.Context, id string) (iam.Principal, string, error) {
	return iam.Principal{AccountID: "111122223333", AccessKeyID: id, UserName: "alice"}, "secret", nil
}

func (a aliceOnly) Authorize(ctx context.Context, p iam.Principal, action, resource string) (iam.Decision, error) {
	return iam.Evaluate(a.policies, action, resource), nil
}

func TestAccessDenied(t *testing.T) {
	var policies []*iam.Policy
	for _, doc := range []string{
		`{"Statement":{"Effect":"Allow","Action":["cloudtrail:Describe*","cloudwatch:list*"],"Resource":"*"}}`,
		`{"Statement":{"Effect":"Deny","Action":"cloudtrail:DeleteTrail","Resource":"*"}}`,
	} {
		p, err := iam.ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		policies = append(policies, p)
	}
	db, err := meta.Open(context.Background(), filepath.Join(t.TempDir(), "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	metrics, err := cw.Open(context.Background(), db, cw.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(Config{Accounts: aliceOnly{policies}, Metrics: metrics, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(ts.Close)

	const user = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
	tests := []struct {
		name, service string
		headers       map[string]string
		body          string
		status        int
		code, message string
	}{
		{"implicit deny", "cloudtrail", map[string]string{"X-Amz-Target": "CloudTrail_20131101.CreateTrail", "Content-Type": "application/x-amz-json-1.1"},
			`{"Name":"x","S3BucketName":"b"}`, 400, "AccessDeniedException",
			user + "cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:111122223333:trail/x because no identity-based policy allows the cloudtrail:CreateTrail action"},
		{"explicit deny", "cloudtrail", map[string]string{"X-Amz-Target": "CloudTrail_20131101.DeleteTrail", "Content-Type": "application/x-amz-json-1.1"},
			`{"Name":"x"}`, 400, "AccessDeniedException",
			user + "cloudtrail:DeleteTrail on resource: arn:aws:cloudtrail:us-east-1:111122223333:trail/x with an explicit deny in an identity-based policy"},
		{"no resource", "cloudtrail", map[string]string{"X-Amz-Target": "CloudTrail_20131101.LookupEvents", "Content-Type": "application/x-amz-json-1.1"},
			`{}`, 400, "AccessDeniedException",
			user + "cloudtrail:LookupEvents because no identity-based policy allows the cloudtrail:LookupEvents action"},
		{"query protocol", "monitoring", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			"Action=DescribeAlarms&Version=2010-08-01", 403, "<Code>AccessDenied</Code>",
			user + "cloudwatch:DescribeAlarms because no identity-based policy allows the cloudwatch:DescribeAlarms action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := signedAs(t, ts.URL+"/", tt.service, []byte(tt.body), tt.headers)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("HTTP %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.service == "cloudtrail" {
				var e struct{ Type, Message string }
				json.Unmarshal(bytes.ReplaceAll(body, []byte(`"__type"`), []byte(`"Type"`)), &e)
				if e.Type != tt.code || e.Message != tt.message {
					t.Errorf("got %s: %s\nwant %s: %s", e.Type, e.Message, tt.code, tt.message)
				}
				return
			}
			if !strings.Contains(string(body), tt.code) || !strings.Contains(string(body), tt.message) {
				t.Errorf("body %s\nwant %s and %s", body, tt.code, tt.message)
			}
		})
	}

	// An allowed call goes through to the operation.
	resp := signedAs(t, ts.URL+"/", "monitoring", []byte("Action=ListMetrics&Version=2010-08-01"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Errorf("allowed ListMetrics: HTTP %d %s", resp.StatusCode, body)
	}
}

// signedAs posts body to service, signed with a key the test servers all know.
func signedAs(t *testing.T, url, service string, body []byte, headers map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDALICE", SecretAccessKey: "secret"},
		req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

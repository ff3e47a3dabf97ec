// Package integration drives a real cairn server with real clients: aws-sdk-go-v2, the aws CLI
// of the machine image and Debian's aws CLI.
package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/cairntest"
)

const other = "444455556666"

// record builds an event; extra is more JSON members.
func record(id, name, account, region string, at time.Time, extra string) []byte {
	if extra != "" {
		extra = "," + extra
	}
	return []byte(fmt.Sprintf(`{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::%[3]s:user/ops","accountId":"%[3]s","accessKeyId":"AKIAOPS","userName":"ops"},`+
		`"eventTime":"%[5]s","eventSource":"ec2.amazonaws.com","eventName":"%[2]s","awsRegion":"%[4]s","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0",`+
		`"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-%[1]s"}]}},"responseElements":null,"requestID":"req-%[1]s","eventID":"%[1]s","readOnly":false,`+
		`"resources":[{"accountId":"%[3]s","type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:%[4]s:%[3]s:instance/i-%[1]s"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%[3]s","eventCategory":"Management"%[6]s}`,
		id, name, account, region, at.UTC().Format(time.RFC3339), extra))
}

func ingestClient(s *cairntest.Server) *ingest.Client {
	return &ingest.Client{Endpoint: s.Endpoint, Region: cairntest.Region,
		Credentials: credentials.NewStaticCredentialsProvider(cairntest.AccessKey, cairntest.SecretKey, "")}
}

// seedSeptember records the data set of the seed scenario and returns the IDs LookupEvents must
// return for TerminateInstances in ap-northeast-1 in September 2019, newest first.
func seedSeptember(t *testing.T, s *cairntest.Server) []string {
	t.Helper()
	var recs [][]byte
	var want []string
	sept := time.Date(2019, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 120; i++ {
		at := sept.Add(time.Duration(i) * 5 * time.Hour)
		id := fmt.Sprintf("0000%04d-aaaa-4bbb-8ccc-dddddddddddd", i)
		recs = append(recs, record(id, "TerminateInstances", cairntest.AccountID, "ap-northeast-1", at, ""))
		if at.Month() == time.September {
			want = append(want, id)
		}
	}
	// Distractors: another account, another region, another event, another month.
	recs = append(recs,
		record("other-account", "TerminateInstances", other, "ap-northeast-1", sept.Add(time.Hour), ""),
		record("other-region", "TerminateInstances", cairntest.AccountID, "eu-west-1", sept.Add(time.Hour), ""),
		record("other-name", "RunInstances", cairntest.AccountID, "ap-northeast-1", sept.Add(time.Hour), ""),
		record("august", "TerminateInstances", cairntest.AccountID, "ap-northeast-1", sept.Add(-time.Hour), ""),
		record("data-event", "TerminateInstances", cairntest.AccountID, "ap-northeast-1", sept.Add(time.Hour), `"x":1,"eventCategory":"Data"`),
		// An Insights event about TerminateInstances: only EventCategory=insight returns it.
		[]byte(`{"eventVersion":"1.07","eventTime":"2019-09-02T00:00:00Z","awsRegion":"ap-northeast-1","eventID":"insight-1","eventType":"AwsCloudTrailInsight","recipientAccountId":"`+
			cairntest.AccountID+`","sharedEventID":"shared-1","insightDetails":{"state":"Start","eventSource":"ec2.amazonaws.com","eventName":"TerminateInstances","insightType":"ApiCallRateInsight",`+
			`"insightContext":{"statistics":{"baseline":{"average":0.1},"insight":{"average":9}}}},"eventCategory":"Insight"}`),
	)
	resp, err := ingestClient(s).Send(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Recorded != len(recs) {
		t.Fatalf("recorded %d of %d: %+v", resp.Recorded, len(recs), resp.Results)
	}
	slices.Reverse(want)
	return want
}

func TestLookupEventsSeedScenarioSDK(t *testing.T) {
	s := cairntest.Start(t)
	want := seedSeptember(t, s)
	// --region ap-northeast-1: the region the request is signed for selects the history.
	client := cloudtrail.NewFromConfig(s.AWSConfig(), func(o *cloudtrail.Options) { o.Region = "ap-northeast-1" })
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("TerminateInstances")}},
		StartTime:        aws.Time(time.Date(2019, 9, 1, 0, 0, 0, 0, time.UTC)),
		EndTime:          aws.Time(time.Date(2019, 9, 30, 23, 59, 59, 0, time.UTC)),
		MaxResults:       aws.Int32(7),
	}
	var got []string
	pages := 0
	p := cloudtrail.NewLookupEventsPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Events {
			got = append(got, aws.ToString(e.EventId))
			if aws.ToString(e.EventName) != "TerminateInstances" || aws.ToString(e.ReadOnly) != "false" || aws.ToString(e.Username) != "ops" ||
				len(e.Resources) != 1 || aws.ToString(e.Resources[0].ResourceType) != "AWS::EC2::Instance" {
				t.Errorf("event %+v", e)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec); err != nil || rec["eventID"] != aws.ToString(e.EventId) {
				t.Errorf("CloudTrailEvent is not the record: %v", err)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d events %v\nwant %d %v", len(got), got, len(want), want)
	}
	if wantPages := (len(want) + 6) / 7; pages != wantPages {
		t.Errorf("%d pages, want %d", pages, wantPages)
	}

	// EventCategory=insight: the Insights event alone, named by its insightDetails.
	in.EventCategory, in.NextToken = types.EventCategoryInsight, nil
	out, err := client.LookupEvents(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || aws.ToString(out.Events[0].EventId) != "insight-1" || aws.ToString(out.Events[0].EventName) != "TerminateInstances" ||
		aws.ToString(out.Events[0].EventSource) != "ec2.amazonaws.com" || !strings.Contains(aws.ToString(out.Events[0].CloudTrailEvent), `"insightType":"ApiCallRateInsight"`) {
		t.Errorf("insight lookup: %+v", out.Events)
	}
}

// The seed's command, verbatim, through each aws CLI.
func TestLookupEventsSeedScenarioCLI(t *testing.T) {
	s := cairntest.Start(t)
	want := seedSeptember(t, s)
	for _, cli := range []struct{ name, path string }{{"machine image aws CLI v1", "aws"}, {"Debian aws CLI v2", "/usr/bin/aws"}} {
		t.Run(cli.name, func(t *testing.T) {
			aws := cairntest.Tool(t, cli.path)
			args := []string{"cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances",
				"--start-time", "2019-09-01T00:00:00Z", "--end-time", "2019-09-30T23:59:59Z", "--region", "ap-northeast-1",
				// Debian's CLI 2.9 predates AWS_ENDPOINT_URL.
				"--endpoint-url", s.Endpoint, "--output", "json"}
			cmd := exec.Command(aws, args...)
			cmd.Env = s.Env()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, stderrOf(err))
			}
			var resp struct {
				Events []struct{ EventId, CloudTrailEvent string }
			}
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("output: %v\n%s", err, out)
			}
			var got []string
			for _, e := range resp.Events {
				got = append(got, e.EventId)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

func TestLookupEventsErrors(t *testing.T) {
	s := cairntest.Start(t)
	client := cloudtrail.NewFromConfig(s.AWSConfig())
	attr := func(k, v string) []types.LookupAttribute {
		return []types.LookupAttribute{{AttributeKey: types.LookupAttributeKey(k), AttributeValue: aws.String(v)}}
	}
	now := time.Now()
	tests := []struct {
		name string
		in   cloudtrail.LookupEventsInput
		code string
	}{
		{"bad key", cloudtrail.LookupEventsInput{LookupAttributes: attr("Color", "red")}, "InvalidLookupAttributesException"},
		{"value too long", cloudtrail.LookupEventsInput{LookupAttributes: attr("EventName", strings.Repeat("x", 2001))}, "InvalidLookupAttributesException"},
		{"insight with username", cloudtrail.LookupEventsInput{EventCategory: "insight", LookupAttributes: attr("Username", "bob")}, "InvalidLookupAttributesException"},
		{"start after end", cloudtrail.LookupEventsInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour))}, "InvalidTimeRangeException"},
		{"max results 51", cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)}, "InvalidMaxResultsException"},
		{"max results 0", cloudtrail.LookupEventsInput{MaxResults: aws.Int32(0)}, "InvalidMaxResultsException"},
		{"bad category", cloudtrail.LookupEventsInput{EventCategory: "management"}, "InvalidEventCategoryException"},
		{"forged token", cloudtrail.LookupEventsInput{NextToken: aws.String("not-a-token")}, "InvalidNextTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.LookupEvents(context.Background(), &tt.in)
			assertAPIError(t, err, tt.code, http.StatusBadRequest)
		})
	}
	// A token used with other parameters.
	for i := 0; i < 3; i++ {
		ingestClient(s).Send(context.Background(), [][]byte{record(fmt.Sprint("tok", i), "A", cairntest.AccountID, "us-east-1", now, "")})
	}
	cairntest.WaitFor(t, 5*time.Second, "events visible", func() bool {
		out, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: attr("EventName", "A")})
		return err == nil && len(out.Events) == 3
	})
	page, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: attr("EventName", "A"), MaxResults: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("first page: %v %v", page, err)
	}
	_, err = client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: attr("EventName", "B"), NextToken: page.NextToken})
	assertAPIError(t, err, "InvalidNextTokenException", http.StatusBadRequest)

	// Self-audit: each of these calls is a management event of the caller's account, with
	// who, from where, what was asked and what failed.
	type auditRecord struct {
		EventSource, EventName, EventCategory, SourceIPAddress, UserAgent, ErrorCode, ErrorMessage, RecipientAccountID string
		ReadOnly, ManagementEvent                                                                                      bool
		UserIdentity                                                                                                   struct{ Type, AccountID, AccessKeyID, ARN string }
		RequestParameters                                                                                              struct{ MaxResults int }
	}
	var rec auditRecord
	cairntest.WaitFor(t, 5*time.Second, "the failed call's own event", func() bool {
		out, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{LookupAttributes: attr("EventName", "LookupEvents")})
		if err != nil {
			return false
		}
		for _, e := range out.Events {
			rec = auditRecord{}
			json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec)
			if rec.ErrorCode == "InvalidMaxResultsException" && rec.RequestParameters.MaxResults == 51 {
				return true
			}
		}
		return false
	})
	if rec.EventSource != "cloudtrail.amazonaws.com" || rec.EventCategory != "Management" || !rec.ManagementEvent || !rec.ReadOnly ||
		rec.ErrorMessage == "" || rec.SourceIPAddress != "127.0.0.1" || !strings.Contains(rec.UserAgent, "aws-sdk-go-v2") ||
		rec.RecipientAccountID != cairntest.AccountID || rec.UserIdentity.Type != "Root" || rec.UserIdentity.AccountID != cairntest.AccountID ||
		rec.UserIdentity.AccessKeyID != cairntest.AccessKey || rec.UserIdentity.ARN != "arn:aws:iam::"+cairntest.AccountID+":root" {
		t.Errorf("self-audit record: %+v", rec)
	}
}

func assertAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() == "" {
		t.Fatalf("got %v, want %s with a message", err, code)
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("HTTP %d, want %d", re.HTTPStatusCode(), status)
	}
}

func TestAuthenticationRefusedAndRecorded(t *testing.T) {
	s := cairntest.Start(t)
	bad := s.AWSConfig()
	bad.Credentials = credentials.NewStaticCredentialsProvider(cairntest.AccessKey, "not-the-secret-0000000000000000000000000", "")
	_, err := cloudtrail.NewFromConfig(bad).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	assertAPIError(t, err, "InvalidSignatureException", http.StatusBadRequest)

	unknown := s.AWSConfig()
	unknown.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", "whatever-secret-000000000000000000000000", "")
	_, err = cloudtrail.NewFromConfig(unknown).LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
	assertAPIError(t, err, "UnrecognizedClientException", http.StatusBadRequest)

	resp, err := http.Post(s.Endpoint+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request: HTTP %d", resp.StatusCode)
	}

	// Each refusal is itself an event in the operator account.
	client := cloudtrail.NewFromConfig(s.AWSConfig())
	found := map[string]bool{}
	cairntest.WaitFor(t, 5*time.Second, "refused calls recorded", func() bool {
		out, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
			LookupAttributes: []types.LookupAttribute{{AttributeKey: "EventSource", AttributeValue: aws.String("cloudtrail.amazonaws.com")}}})
		if err != nil {
			return false
		}
		for _, e := range out.Events {
			var rec struct {
				ErrorCode    string
				UserIdentity struct{ AccessKeyID string } `json:"userIdentity"`
			}
			json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec)
			if rec.ErrorCode != "" {
				found[rec.ErrorCode+"/"+rec.UserIdentity.AccessKeyID] = true
			}
		}
		return found["InvalidSignatureException/"+cairntest.AccessKey] && found["UnrecognizedClientException/AKIAUNKNOWNKEY000000"] &&
			found["MissingAuthenticationTokenException/"]
	})
}

func TestUnknownOperation(t *testing.T) {
	s := cairntest.Start(t)
	_, err := cloudtrail.NewFromConfig(s.AWSConfig()).GetDashboard(context.Background(), &cloudtrail.GetDashboardInput{DashboardId: aws.String("x")})
	assertAPIError(t, err, "UnknownOperationException", http.StatusBadRequest)
}

func TestIngestAnswersPerRecord(t *testing.T) {
	s := cairntest.Start(t)
	ok := record("ok-1", "A", cairntest.AccountID, "us-east-1", time.Now(), "")
	resp, err := ingestClient(s).Send(context.Background(), [][]byte{
		ok,
		[]byte(`{"eventSource":"ec2.amazonaws.com"}`),
		record("ok-2", "A", other, "us-east-1", time.Now(), ""), // the operator may record for any account
		ok, // a retry within the batch
	})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range resp.Results {
		got = append(got, string(r.Status))
	}
	if strings.Join(got, ",") != "recorded,rejected,recorded,duplicate" || resp.Results[1].Reason != "eventName: missing" {
		t.Fatalf("results %+v", resp.Results)
	}
	again, err := ingestClient(s).Send(context.Background(), [][]byte{ok})
	if err != nil || again.Duplicates != 1 {
		t.Fatalf("retried batch: %+v %v", again, err)
	}

	// Plain bodies, as curl or any HTTP client sends them: NDJSON, {"Records":[…]} and gzip
	// named by Content-Encoding only.
	plain := record("plain-1", "A", cairntest.AccountID, "us-east-1", time.Now(), "")
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(record("gz-1", "A", cairntest.AccountID, "us-east-1", time.Now(), ""))
	zw.Close()
	for _, tt := range []struct {
		name, ctype, encoding string
		body                  []byte
		want                  string
	}{
		{"NDJSON", ingest.ContentTypeNDJSON, "", append(append(plain, '\n'), `{"eventName":"A"}`...), "recorded,rejected"},
		{"Records", ingest.ContentTypeJSON, "", []byte(`{"Records":[` + string(ok) + `,` + string(plain) + `]}`), "duplicate,duplicate"},
		{"gzip", ingest.ContentTypeNDJSON, "gzip", zipped.Bytes(), "recorded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var resp ingest.Response
			if code := postSigned(t, s, ingest.Path, tt.ctype, tt.encoding, tt.body, &resp); code != http.StatusOK {
				t.Fatalf("HTTP %d", code)
			}
			var got []string
			for _, r := range resp.Results {
				got = append(got, string(r.Status))
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("results %+v, want %s", resp.Results, tt.want)
			}
		})
	}
}

// postSigned posts body to path, signed for the cloudtrail service, and decodes the JSON answer.
func postSigned(t *testing.T, s *cairntest.Server, path, ctype, encoding string, body []byte, out any) int {
	t.Helper()
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	creds, _ := s.AWSConfig().Credentials.Retrieve(ctx)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudtrail", cairntest.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("HTTP %d, answer: %v", resp.StatusCode, err)
	}
	return resp.StatusCode
}

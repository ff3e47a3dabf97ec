package event

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file     string
		name     string
		category string
		username string
		time     string
	}{
		{"assumed-role-console-login.json", "ConsoleLogin", CategoryManagement, "my-session-name", "2016-01-26T21:42:12Z"},
		{"insight.json", "", CategoryInsight, "", "2019-11-14T00:51:00Z"},
		{"run-instances-1.11.json", "RunInstances", CategoryManagement, "Alice", "2024-03-01T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !bytes.Equal(r.Raw, raw) {
				t.Error("Raw is not the producer's bytes")
			}
			if r.EventName != tt.name || r.Category() != tt.category || r.Username() != tt.username {
				t.Errorf("got name %q category %q username %q", r.EventName, r.Category(), r.Username())
			}
			if got := r.EventTime.Format(TimeLayout); got != tt.time {
				t.Errorf("eventTime %s, want %s", got, tt.time)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	big := `{"eventName":"X","eventSource":"s","pad":"` + strings.Repeat("a", MaxRecordBytes) + `"}`
	tests := []struct {
		name, raw, want string
	}{
		{"array", `[1,2]`, "record is not a JSON object"},
		{"empty", ``, "record is not a JSON object"},
		{"string", `"x"`, "record is not a JSON object"},
		{"no eventName", `{"eventSource":"ec2.amazonaws.com"}`, "eventName: missing"},
		{"no eventSource", `{"eventName":"RunInstances"}`, "eventSource: missing"},
		{"bad time", `{"eventName":"A","eventSource":"b","eventTime":"yesterday"}`, `eventTime: "yesterday" is not a time`},
		{"time not string", `{"eventName":"A","eventSource":"b","eventTime":12}`, "eventTime: want a string"},
		{"name not string", `{"eventName":7,"eventSource":"b"}`, "eventName: want a string"},
		{"readOnly not bool", `{"eventName":"A","eventSource":"b","readOnly":"yes"}`, "readOnly: want a boolean"},
		{"bad account", `{"eventName":"A","eventSource":"b","recipientAccountId":"12"}`, "recipientAccountId"},
		{"bad version", `{"eventName":"A","eventSource":"b","eventVersion":"v2"}`, "eventVersion"},
		{"too big", big, "over the 262144-byte limit"},
		{"bad utf8", "{\"eventName\":\"A\xff\",\"eventSource\":\"b\"}", "not valid UTF-8 (first bad byte at offset 15)"},
		{"truncated", `{"eventName":"A","eventSource":"b"`, "malformed JSON"},
		{"insight without details", `{"eventType":"AwsCloudTrailInsight"}`, "insightDetails: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.raw))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestOlderVersionsAccepted(t *testing.T) {
	for _, v := range []string{"1.0", "1.01", "1.02", "1.03", "1.04", "1.05", "1.06", "1.07", "1.08", "1.09", "1.10", "1.11"} {
		raw := `{"eventVersion":"` + v + `","eventName":"A","eventSource":"b.amazonaws.com","eventTime":"2015-01-01T00:00:00Z"}`
		if _, err := Parse([]byte(raw)); err != nil {
			t.Errorf("version %s: %v", v, err)
		}
	}
}

func TestStamp(t *testing.T) {
	raw := []byte(`{"eventName":"A", "eventSource":"b" , "x":{"y":[1]} }` + "\n")
	got := Stamp(raw, [2]string{"eventID", "id-1"}, [2]string{"awsRegion", `q"uote`})
	want := `{"eventName":"A", "eventSource":"b" , "x":{"y":[1]},"eventID":"id-1","awsRegion":"q\"uote"}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if got := Stamp([]byte(`{}`), [2]string{"eventID", "x"}); string(got) != `{"eventID":"x"}` {
		t.Errorf("empty object: %s", got)
	}
}

func TestCategory(t *testing.T) {
	f, tr := false, true
	tests := []struct {
		r    Record
		want string
	}{
		{Record{EventCategory: "Data"}, CategoryData},
		{Record{EventType: EventTypeInsight}, CategoryInsight},
		{Record{ManagementEvent: &f}, CategoryData},
		{Record{ManagementEvent: &tr}, CategoryManagement},
		{Record{Resources: []Resource{{Type: "AWS::S3::Object"}}}, CategoryData},
		{Record{EventSource: "lambda.amazonaws.com", EventName: "Invoke"}, CategoryData},
		{Record{EventSource: "ec2.amazonaws.com", EventName: "RunInstances"}, CategoryManagement},
	}
	for _, tt := range tests {
		if got := tt.r.Category(); got != tt.want {
			t.Errorf("%+v: got %s want %s", tt.r, got, tt.want)
		}
	}
}

func TestResourceName(t *testing.T) {
	tests := map[string]string{
		"arn:aws:ec2:us-east-1:111122223333:instance/i-0abc":     "i-0abc",
		"arn:aws:iam::111122223333:user/division/Alice":          "Alice",
		"arn:aws:s3:::my-bucket":                                 "my-bucket",
		"arn:aws:s3:::my-bucket/a/b.txt":                         "my-bucket/a/b.txt",
		"arn:aws:dynamodb:us-east-1:111122223333:table/Orders":   "Orders",
		"arn:aws:sns:us-east-1:111122223333:alerts":              "alerts",
		"arn:aws:lambda:us-east-1:111122223333:function:handler": "handler",
		"not-an-arn": "not-an-arn",
	}
	for arn, want := range tests {
		if got := ResourceName(arn); got != want {
			t.Errorf("ResourceName(%q) = %q, want %q", arn, got, want)
		}
	}
}

func TestUsername(t *testing.T) {
	tests := []struct {
		u    UserIdentity
		want string
	}{
		{UserIdentity{Type: "Root", ARN: "arn:aws:iam::1:root"}, "root"},
		{UserIdentity{Type: "IAMUser", UserName: "bob"}, "bob"},
		{UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/r/sess"}, "sess"},
		{UserIdentity{Type: "IAMUser", UserName: "HIDDEN_DUE_TO_SECURITY_REASONS"}, "HIDDEN_DUE_TO_SECURITY_REASONS"},
		{UserIdentity{Type: "AWSService", InvokedBy: "ec2.amazonaws.com"}, ""},
	}
	for _, tt := range tests {
		r := Record{UserIdentity: &tt.u}
		if got := r.Username(); got != tt.want {
			t.Errorf("%+v: %q want %q", tt.u, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for s, want := range map[string]string{
		"2024-01-02T03:04:05Z":      "2024-01-02T03:04:05Z",
		"2024-01-02T03:04:05.5Z":    "2024-01-02T03:04:05.5Z",
		"2024-01-02T05:04:05+02:00": "2024-01-02T03:04:05Z",
	} {
		got, err := ParseTime(s)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"eventName":"A","eventSource":"b","resources":[{"ARN":1}]}`))
	f.Add([]byte(`{"userIdentity":null,"eventName":"","eventTime":"2024-01-02T03:04:05Z"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !bytes.Equal(r.Raw, raw) {
			t.Fatal("Raw changed")
		}
		_ = r.Username()
		_ = r.LookupResources()
		stamped := Stamp(raw, [2]string{"eventID", "x"})
		if !json.Valid(stamped) {
			t.Fatalf("Stamp made invalid JSON from %q: %q", raw, stamped)
		}
	})
}

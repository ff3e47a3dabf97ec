package history

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestActivity(t *testing.T) {
	f := newFixture(t, Options{})
	signIn := func(id string, at time.Time, failed bool) []byte {
		msg := `"responseElements":{"ConsoleLogin":"Success"}`
		if failed {
			msg = `"errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"}`
		}
		return []byte(fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"%[1]s","accessKeyId":"","userName":"bob"},`+
			`"eventTime":"%[2]s","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.9",%[3]s,`+
			`"eventID":"%[4]s","eventType":"AwsConsoleSignIn","recipientAccountId":"%[1]s","eventCategory":"Management"}`, acct, at.Format(time.RFC3339), msg, id))
	}
	// Half flushed to DuckDB, half in the recent tier: the summary adds both.
	var first, second [][]byte
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		first = append(first, ev(fmt.Sprintf("a%d", i), "RunInstances", acct, "us-east-1", at, `"sourceIPAddress":"198.51.100.1"`))
		second = append(second, ev(fmt.Sprintf("b%d", i), "DescribeInstances", acct, "us-east-1", at.Add(30*time.Minute), `"sourceIPAddress":"198.51.100.2","errorCode":"AccessDenied"`))
	}
	first = append(first, ev("eu", "RunInstances", acct, "eu-west-1", t0, ""), ev("other", "RunInstances", other, "us-east-1", t0, ""))
	second = append(second, signIn("s1", t0.Add(50*time.Minute), true), signIn("s2", t0.Add(51*time.Minute), true), signIn("s3", t0.Add(52*time.Minute), false))
	f.add(first...)
	f.flush()
	f.add(second...)

	a, err := f.ix.Activity(context.Background(), ActivityQuery{Account: acct, Region: "us-east-1", Regions: []string{"us-east-1", "eu-west-1", "ap-northeast-1"},
		Start: t0, End: t0.Add(time.Hour), Buckets: 6})
	if err != nil {
		t.Fatal(err)
	}
	if a.Total != 23 {
		t.Errorf("total %d, want 23", a.Total)
	}
	wantTimeline := []int64{10, 0, 0, 10, 0, 3}
	for i, b := range a.Timeline {
		if b.N != wantTimeline[i] {
			t.Errorf("timeline %v, want %v", a.Timeline, wantTimeline)
			break
		}
	}
	if fmt.Sprint(a.EventNames) != "[{DescribeInstances 10} {RunInstances 10} {ConsoleLogin 3}]" {
		t.Errorf("event names %v", a.EventNames)
	}
	if fmt.Sprint(a.Users) != "[{alice 20} {bob 3}]" {
		t.Errorf("users %v", a.Users)
	}
	if fmt.Sprint(a.ByRegion) != "[{us-east-1 23} {eu-west-1 1}]" {
		t.Errorf("regions %v", a.ByRegion)
	}
	if a.Sampled != 23 || fmt.Sprint(a.Errors) != "[{AccessDenied 10}]" || fmt.Sprint(a.SourceIPs) != "[{198.51.100.1 10} {198.51.100.2 10} {192.0.2.9 3}]" {
		t.Errorf("sampled %d, errors %v, IPs %v", a.Sampled, a.Errors, a.SourceIPs)
	}
	if a.FailedSignIns != 2 || a.FailedSignInTimes[5].N != 2 || fmt.Sprint(a.FailedSignInUsers) != "[{bob 2}]" {
		t.Errorf("failed sign-ins %d %v %v", a.FailedSignIns, a.FailedSignInTimes, a.FailedSignInUsers)
	}
	if _, err := f.ix.Activity(context.Background(), ActivityQuery{Account: acct, Region: "us-east-1", Start: t0, End: t0}); err == nil {
		t.Error("empty window accepted")
	}
}

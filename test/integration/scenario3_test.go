package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/notify"
)

// Scenario 3 end to end, as a user follows it with the aws CLI only: a trail with a bucket,
// log file validation and a log group; the metric filter; a topic with an HTTPS subscription
// (an endpoint that verifies every signature) and a confirmed email subscription; the alarm.
// One failed sign-in raises nothing; the second within five minutes puts the alarm in ALARM and
// the notification, naming the alarm, reaches the endpoint and the mailbox.
func TestScenario3FailedSignInsEndToEnd(t *testing.T) {
	awsBin := cairntest.Tool(t, "aws")
	s, ep, mb := startSNS(t)
	cli := func(out any, args ...string) { t.Helper(); awsCLI(t, s, awsBin, out, args...) }
	ctx := context.Background()

	// 1. The trail, with a new bucket, validation on, and a new log group.
	const group = "CloudTrail/DefaultLogGroup"
	cli(nil, "logs", "create-log-group", "--log-group-name", group)
	cli(nil, "cloudtrail", "create-trail", "--name", "management-events", "--s3-bucket-name", "scenario3-trail-bucket",
		"--is-multi-region-trail", "--enable-log-file-validation",
		"--cloud-watch-logs-log-group-arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", cairntest.Region, cairntest.AccountID, group),
		"--cloud-watch-logs-role-arn", "arn:aws:iam::"+cairntest.AccountID+":role/CloudTrail_CloudWatchLogs_Role")
	cli(nil, "cloudtrail", "start-logging", "--name", "management-events")

	// 2. The metric filter.
	cli(nil, "logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "ConsoleSignInFailures",
		"--filter-pattern", signInFailures,
		"--metric-transformations", "metricName=ConsoleSigninFailureCount,metricNamespace=CloudTrailMetrics,metricValue=1")

	// 4. The topic, an HTTPS subscription (the endpoint confirms by visiting SubscribeURL) and an
	// email subscription confirmed through the link in its mail.
	var topic struct{ TopicArn string }
	cli(&topic, "sns", "create-topic", "--name", "sec-alerts")
	cli(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "https", "--notification-endpoint", ep.URL)
	cli(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "email", "--notification-endpoint", "secops@example.com")
	confirmation := mb.Await(t, "secops@example.com", "Subscription Confirmation")
	resp, err := http.Get(linkRE.FindString(confirmation.Body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("following the confirmation link: %v %v", err, resp)
	}
	resp.Body.Close()
	cairntest.WaitFor(t, 30*time.Second, "both subscriptions confirmed", func() bool {
		var attrs struct{ Attributes map[string]string }
		cli(&attrs, "sns", "get-topic-attributes", "--topic-arn", topic.TopicArn)
		return attrs.Attributes["SubscriptionsConfirmed"] == "2"
	})

	// 3. The alarm.
	const alarm = "Console sign-in failures"
	cli(nil, "cloudwatch", "put-metric-alarm", "--alarm-name", alarm,
		"--alarm-description", "Raises alarms if more than 2 console sign-in failures occur in 5 minutes",
		"--namespace", "CloudTrailMetrics", "--metric-name", "ConsoleSigninFailureCount", "--statistic", "Sum",
		"--period", "300", "--evaluation-periods", "1", "--threshold", "2", "--comparison-operator", "GreaterThanOrEqualToThreshold",
		"--treat-missing-data", "notBreaching", "--alarm-actions", topic.TopicArn)
	state := func() string {
		var out struct{ MetricAlarms []struct{ StateValue string } }
		cli(&out, "cloudwatch", "describe-alarms", "--alarm-names", alarm)
		if len(out.MetricAlarms) != 1 {
			t.Fatalf("describe-alarms: %+v", out)
		}
		return out.MetricAlarms[0].StateValue
	}
	sum := func() float64 {
		var out struct{ Datapoints []struct{ Sum float64 } }
		now := time.Now().UTC()
		cli(&out, "cloudwatch", "get-metric-statistics", "--namespace", "CloudTrailMetrics", "--metric-name", "ConsoleSigninFailureCount",
			"--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Add(time.Hour).Format(time.RFC3339),
			"--period", "7200", "--statistics", "Sum")
		total := 0.0
		for _, d := range out.Datapoints {
			total += d.Sum
		}
		return total
	}
	notifications := func() (n []*notify.Message) {
		for _, m := range ep.Messages() {
			if m.Type == notify.TypeNotification {
				n = append(n, m)
			}
		}
		return n
	}

	// 5. One failed sign-in (and a successful one): below the threshold, no alarm.
	now := time.Now().UTC()
	if _, err := ingestClient(s).Send(ctx, [][]byte{consoleLogin("signin-ok", now, false), consoleLogin("signin-fail-1", now, true)}); err != nil {
		t.Fatal(err)
	}
	cairntest.WaitFor(t, 30*time.Second, "the first failure counted by the metric filter", func() bool { return sum() == 1 })
	time.Sleep(time.Second) // room for a wrong notification to arrive
	if st := state(); st == "ALARM" {
		t.Fatalf("one failure put the alarm in %s", st)
	}
	if n := notifications(); len(n) != 0 {
		t.Fatalf("one failure sent %d notifications", len(n))
	}

	// The second failure within five minutes: ALARM, and the notification arrives signed.
	if _, err := ingestClient(s).Send(ctx, [][]byte{consoleLogin("signin-fail-2", now.Add(30*time.Second), true)}); err != nil {
		t.Fatal(err)
	}
	n := ep.Await(notify.TypeNotification, nil)
	var msg struct {
		AlarmName, AlarmDescription, NewStateValue, OldStateValue, NewStateReason string
		Trigger                                                                   struct{ MetricName, Namespace, Statistic string }
	}
	if err := json.Unmarshal([]byte(n.Message), &msg); err != nil {
		t.Fatalf("notification message is not CloudWatch's JSON: %v\n%s", err, n.Message)
	}
	if msg.AlarmName != alarm || msg.NewStateValue != "ALARM" || msg.Trigger.MetricName != "ConsoleSigninFailureCount" ||
		msg.Trigger.Namespace != "CloudTrailMetrics" || !strings.Contains(msg.AlarmDescription, "more than 2 console sign-in failures") {
		t.Errorf("notification %+v", msg)
	}
	if n.TopicArn != topic.TopicArn || !strings.HasPrefix(n.Subject, `ALARM: "Console sign-in failures" in `) {
		t.Errorf("notification envelope: topic %s subject %q", n.TopicArn, n.Subject)
	}
	if st := state(); st != "ALARM" {
		t.Errorf("alarm state %s after two failures", st)
	}
	m := mb.Await(t, "secops@example.com", alarm)
	if !strings.Contains(m.Body, alarm) {
		t.Errorf("alarm mail body %q", m.Body)
	}
	if got := len(notifications()); got != 1 {
		t.Errorf("%d notifications at the endpoint, want 1", got)
	}

	// The chain's ConsoleLogin failures are in event history too.
	var events struct{ Events []struct{ EventID string } }
	cli(&events, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ConsoleLogin")
	if len(events.Events) != 3 {
		t.Errorf("lookup-events found %d ConsoleLogin events, want 3", len(events.Events))
	}
}
